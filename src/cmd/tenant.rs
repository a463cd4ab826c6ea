//! `onboard tenant init`: a commented starter tenant file, so that a first
//! `onboard import` has something to read.

use anyhow::{bail, Context, Result};

use crate::cli::{GlobalArgs, TenantCommand, TenantInitArgs, TenantPullArgs};
use crate::row::printable;
use crate::tenant::Tenant;
use crate::write::file::{self, Target};

pub fn run(global: &GlobalArgs, command: TenantCommand) -> Result<u8> {
    match command {
        TenantCommand::Init(args) => init(global, args),
        TenantCommand::Pull(args) => pull(global, args),
    }
}

/// `onboard tenant pull`: reads `[graph]` from `--tenant`, writes `-o` (default: that
/// file, through a temporary file and a rename).
fn pull(global: &GlobalArgs, args: TenantPullArgs) -> Result<u8> {
    crate::interrupt::install();
    let tenant = Tenant::load(&global.tenant)?;
    let client = super::push::connect(&tenant)?;
    let old = std::fs::read_to_string(&global.tenant)
        .with_context(|| format!("cannot read {}", global.tenant.display()))?;
    let pulled = crate::graph::pull::pull(&client, Some(&old), &tenant)?;
    let target = Target {
        path: args.output.clone().unwrap_or_else(|| global.tenant.clone()),
        what: "tenant file",
        option: "-o",
        // Replacing the tenant file is what the command is for.
        force: true,
        private: false,
    };
    file::check(&[&target], &file::Kept::directory(&global.directory))?;
    file::write(&target, |out| Ok(out.write_all(pulled.text.as_bytes())?))?;
    if !global.quiet {
        eprintln!(
            "onboard: wrote {}: {} verified domains, {} licences",
            printable(&target.path.display().to_string()),
            pulled.domains,
            pulled.licenses
        );
    }
    Ok(crate::exit::OK)
}

fn init(global: &GlobalArgs, args: TenantInitArgs) -> Result<u8> {
    crate::interrupt::install();
    let text = starter(&args.name, &args.domains)?;
    let target = Target {
        path: args.output.clone().unwrap_or_else(|| global.tenant.clone()),
        what: "tenant file",
        option: "-o",
        force: args.force,
        private: false,
    };
    file::check(&[&target], &file::Kept::directory(&global.directory))?;
    file::write(&target, |out| Ok(out.write_all(text.as_bytes())?))?;
    if !global.quiet {
        eprintln!(
            "onboard: wrote {}: set your licences and seats in it, then try `onboard import FILE --dry-run`",
            printable(&target.path.display().to_string())
        );
    }
    Ok(crate::exit::OK)
}

/// The starter file for `name` and `domains`; it is a valid tenant file as written.
pub fn starter(name: &str, domains: &[String]) -> Result<String> {
    for d in domains {
        if d.is_empty() || d.contains(['"', '\\', '\n', '@', ' ']) {
            bail!("--domain `{}` is not a domain name", printable(d));
        }
    }
    if name.contains(['"', '\\', '\n']) || name.trim().is_empty() {
        bail!("--name `{}` cannot be written as it is", printable(name));
    }
    let list = domains
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        r#"# onboard tenant file: what your organisation owns. Edit it, then check a
# spreadsheet against it without changing anything:
#   onboard import new-hires.csv --dry-run
# Every key is explained in docs/import.md.

name = "{name}"
# Verified domains (Microsoft 365 admin center > Settings > Domains): every User Name
# must end in one of them.
domains = [{list}]
# Added to a User Name typed without '@'.
default_domain = "{first}"
# Usage location (ISO 3166-1 alpha-2 country code) for rows whose cell is empty; a
# user needs one to get a licence. `import --usage-location` overrides it for one run.
default_usage_location = "US"

[password]
length = 16          # generated passwords (8 to 256 characters)
force_change = true  # the user must change it at first sign-in

# One [[license]] table per subscription bought. sku is the part number Microsoft uses
# (admin center > Billing > Licenses, or Graph's subscribedSkus: skuPartNumber); name
# is its friendly name, also accepted in the Licenses column; seats is how many were
# bought (onboard never assigns more); apps are its service plans (servicePlanName),
# which the Disabled Apps column may turn off. Copy the table for each subscription.
[[license]]
sku = "ENTERPRISEPACK"
name = "Office 365 E3"
seats = 25
apps = [
    "EXCHANGE_S_ENTERPRISE",   # Exchange Online (Plan 2)
    "TEAMS1",                  # Microsoft Teams
    "SHAREPOINTENTERPRISE",    # SharePoint (Plan 2)
    "SHAREPOINTWAC",           # Office for the web
    "OFFICESUBSCRIPTION",      # Microsoft 365 Apps for enterprise
]
"#,
        first = domains[0],
    );
    Tenant::parse(&text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_file_is_a_valid_tenant_file() {
        let text = starter("Contoso", &["contoso.com".into(), "fabrikam.nl".into()]).unwrap();
        let tenant = Tenant::parse(&text).unwrap();
        assert_eq!(tenant.name, "Contoso");
        assert_eq!(tenant.default_domain.as_deref(), Some("contoso.com"));
        assert_eq!(tenant.licenses[0].sku, "ENTERPRISEPACK");
        assert!(starter("x", &["a\"b".into()]).is_err());
    }
}
