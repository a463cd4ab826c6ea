//! Any bytes as an input file: the reader (encoding, delimiter, header, records) and the
//! row rules and planner must never panic, and every record gets a status.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onboard::check::Rules;
use onboard::plan::{OnExisting, OnShortage, Planner, SeatPool};
use onboard::read::Input;
use onboard::row::{RawRow, Status};
use onboard::tenant::Tenant;

const TENANT: &str = r#"
name = "Contoso"
domains = ["contoso.com", "fabrikam.nl"]
default_domain = "contoso.com"
default_usage_location = "NL"
[[license]]
sku = "SPE_E3"
name = "Microsoft 365 E3"
seats = 2
apps = ["TEAMS1", "EXCHANGE_S_ENTERPRISE"]
[[license]]
sku = "EMS"
name = "Enterprise Mobility + Security E3"
seats = 1
apps = ["INTUNE_A"]
"#;

fn tenant() -> &'static Tenant {
    static TENANT_CELL: OnceLock<Tenant> = OnceLock::new();
    TENANT_CELL.get_or_init(|| Tenant::parse(TENANT).expect("fuzz tenant"))
}

fuzz_target!(|data: &[u8]| {
    let tenant = tenant();
    let Ok(mut input) = Input::from_bytes(Path::new("fuzz.csv"), data.to_vec()) else {
        return; // a fatal input error is a fine answer
    };
    let columns = input.columns.clone();
    let rules = Rules::new(tenant, &columns, false);
    let seats = SeatPool::new(tenant, &Default::default());
    let mut planner = Planner::new(
        tenant,
        &columns,
        OnExisting::Skip,
        OnShortage::Unlicensed,
        seats,
        false,
        16,
    );
    let mut row = RawRow::default();
    while let Ok(true) = input.next_row(&mut row) {
        let checked = rules.check(std::mem::take(&mut row));
        let planned = planner.plan(checked, None).expect("no directory, no error");
        assert!(planned.status.is_some());
        if planned.status() == Status::Failed {
            assert!(!planned.row.errors.is_empty(), "a failed row has an error");
        }
    }
});
