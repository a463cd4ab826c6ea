//! Files as admins really have them (docs/input.md): Microsoft's Entra ID bulk-create
//! shape with short rows, a PowerShell script's CSV, a Microsoft Graph export, the
//! admin center's German template saved by German Excel, a tab-separated `.csv`; the
//! wizard's licence and location for everyone; and the first steps in an empty folder.
//! The files are written here in the published formats; each runs through the binary
//! and the whole result file, or the directory listing, is compared.

use crate::workdir::Workdir;

/// A tenant that owns Office 365 E3 (ENTERPRISEPACK) as well.
const TENANT: &str = r#"
name = "Contoso"
domains = ["contoso.com"]
default_domain = "contoso.com"
[password]
length = 16
force_change = true
[[license]]
sku = "ENTERPRISEPACK"
name = "Office 365 E3"
seats = 10
apps = ["TEAMS1", "EXCHANGE_S_ENTERPRISE"]
[[license]]
sku = "EMS"
name = "Enterprise Mobility + Security E3"
seats = 10
apps = ["INTUNE_A"]
"#;

fn workdir() -> Workdir {
    let wd = Workdir::new();
    wd.write("tenant.toml", TENANT);
    wd
}

/// `onboard users`: the directory as CSV.
fn listing(wd: &Workdir) -> String {
    wd.listing(&[]).0
}

/// Runs `onboard import ARGS`; returns the exit code and stderr.
fn import(wd: &Workdir, args: &[&str]) -> (i32, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let out = wd.onboard(&all).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const LISTING_HEADER: &str = "User Name,Display Name,First Name,Last Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region,Employee ID,Usage Location,Licenses,Disabled Apps,Roles,Block Sign In,Object ID\n";

#[test]
fn the_entra_bulk_create_example_with_16_fields_under_17_headers() {
    // The shape of Microsoft's documented example: the version line, 17 bracketed
    // headers, rows that stop one field short (no Mobile phone), UTF-8 with a BOM.
    let wd = workdir();
    wd.write(
        "entra.csv",
        "\u{feff}version:v1.0\r\n\
Name [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required,Block sign in (Yes/No) [accountEnabled] Required,First name [givenName],Last name [surname],Job title [jobTitle],Department [department],Usage location [usageLocation],Street address [streetAddress],State or province [state],Country or region [country],Office [physicalDeliveryOfficeName],City [city],ZIP or postal code [postalCode],Office phone [telephoneNumber],Mobile phone [mobile]\r\n\
Example: Chris Green,chris@contoso.com,Password1234,No,Chris,Green,IT Manager,Information Technology,US,1 Main St,WA,United States,Building 1,Redmond,98052,+1 555 0100\r\n\
Chris Green,chris@contoso.com,Tr0ub4dor&3x!,No,Chris,Green,IT Manager,Information Technology,US,1 Main St,WA,United States,Building 1,Redmond,98052,+1 555 0100\r\n\
Dana Reyes,dana@contoso.com,C0rrect-Horse!,Yes,Dana,Reyes,Analyst,Finance,US,2 Main St,WA,United States,Building 2,Redmond,98052,+1 555 0101\r\n",
    );
    let (code, stderr) = import(&wd, &["entra.csv", "-o", "out.csv"]);
    assert_eq!(code, 0, "{stderr}");
    let short = "short_row: the record has 16 fields, the header has 17; the missing cells are read as empty";
    assert_eq!(
        wd.results("out.csv"),
        format!(
            "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n\
             4,chris@contoso.com,Chris Green,created,<password>,,\"{short}\",\n\
             5,dana@contoso.com,Dana Reyes,created,<password>,,\"{short}\",\n"
        )
    );
    assert_eq!(
        listing(&wd),
        format!(
            "{LISTING_HEADER}\
chris@contoso.com,Chris Green,Chris,Green,IT Manager,Information Technology,Building 1,'+1 555 0100,,,,1 Main St,Redmond,WA,98052,United States,,US,,,,No,<object id>\n\
dana@contoso.com,Dana Reyes,Dana,Reyes,Analyst,Finance,Building 2,'+1 555 0101,,,,2 Main St,Redmond,WA,98052,United States,,US,,,,Yes,<object id>\n"
        )
    );
}

#[test]
fn a_powershell_csv_with_msonline_licences() {
    // The CSV of Microsoft's PowerShell documentation: AccountSkuId as `tenant:SKU`.
    let wd = workdir();
    wd.write(
        "ps.csv",
        "UserPrincipalName,FirstName,LastName,DisplayName,UsageLocation,AccountSkuId\r\n\
ClaudeL@contoso.com,Claude,Loiselle,Claude Loiselle,US,contoso:ENTERPRISEPACK\r\n\
LynneB@contoso.com,Lynne,Baxter,Lynne Baxter,US,contoso:ENTERPRISEPACK\r\n\
ShawnM@contoso.com,Shawn,Melendez,Shawn Melendez,US,contoso:EMS\r\n",
    );
    let (code, stderr) = import(&wd, &["ps.csv", "-o", "out.csv"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n\
         2,ClaudeL@contoso.com,Claude Loiselle,created,<password>,ENTERPRISEPACK,,\n\
         3,LynneB@contoso.com,Lynne Baxter,created,<password>,ENTERPRISEPACK,,\n\
         4,ShawnM@contoso.com,Shawn Melendez,created,<password>,EMS,,\n"
    );
}

#[test]
fn a_graph_export_with_account_enabled_and_unkept_properties() {
    // Graph property names as headers, any case; accountEnabled TRUE means may sign in;
    // mailNickname and id are left out with a warning.
    let wd = workdir();
    wd.write(
        "graph.csv",
        "id,displayName,userPrincipalName,givenName,surname,mailNickname,accountEnabled,jobTitle,department,officeLocation,businessPhones,mobilePhone,otherMails,streetAddress,city,state,postalCode,country,usageLocation,employeeId\n\
1,Ann Lee,ann@contoso.com,Ann,Lee,ann,TRUE,Engineer,R&D,B1,+31 20 1,+31 6 1,ann@home.example,Kade 1,Delft,ZH,2611,Netherlands,NL,E100\n\
2,Bo Ek,bo@contoso.com,Bo,Ek,bo,FALSE,Clerk,Sales,B2,+31 20 2,,,,Ede,,,,NL,E101\n\
3,Cy Oz,cy@contoso.com,Cy,Oz,cy,,Clerk,Sales,,,,,,,,,,NL,E102\n",
    );
    let (code, stderr) = import(&wd, &["graph.csv", "-o", "out.csv"]);
    assert_eq!(code, 0, "{stderr}");
    for column in [
        "1, column 1: column `id`",
        "1, column 6: column `mailNickname`",
    ] {
        assert!(
            stderr.contains(&format!(
                "line {column} is a Microsoft Graph property onboard does not keep; it is left out"
            )),
            "{stderr}"
        );
    }
    assert_eq!(
        listing(&wd),
        format!(
            "{LISTING_HEADER}\
ann@contoso.com,Ann Lee,Ann,Lee,Engineer,R&D,B1,'+31 20 1,'+31 6 1,,ann@home.example,Kade 1,Delft,ZH,2611,Netherlands,E100,NL,,,,No,<object id>\n\
bo@contoso.com,Bo Ek,Bo,Ek,Clerk,Sales,B2,'+31 20 2,,,,,Ede,,,,E101,NL,,,,Yes,<object id>\n\
cy@contoso.com,Cy Oz,Cy,Oz,Clerk,Sales,,,,,,,,,,,E102,NL,,,,No,<object id>\n"
        )
    );
}

#[test]
fn the_german_admin_center_template_saved_by_german_excel() {
    // Semicolons, a BOM, CRLF, a trailing blank line; the header exactly as Microsoft
    // publishes it, with the en dash; right-to-left names kept as they are.
    let wd = workdir();
    wd.write_bytes(
        "benutzer.csv",
        "\u{feff}Benutzername;Vorname;Nachname;Anzeigename;Position;Abteilung;Telefon \u{2013} Geschäftlich;Telefon (geschäftlich);Mobiltelefon;Fax;Alternative E-Mail-Adresse;Adresse;Ort;Bundesstaat;Postleitzahl;Land oder Region\r\n\
jens@contoso.com;Jens;Müller;Jens Müller;Vertrieb;Verkauf;R 1.04;+49 30 1234;+49 170 1;;jens@privat.example;Hauptstr. 1;Berlin;BE;10115;Deutschland\r\n\
lina@contoso.com;ليناء;حداد;لينا حداد;Beraterin;Verkauf;R 1.05;+49 30 1235;;;;;Berlin;BE;10115;Deutschland\r\n\
\r\n"
            .as_bytes(),
    );
    let (code, stderr) = import(
        &wd,
        &["benutzer.csv", "-o", "out.csv", "--usage-location", "DE"],
    );
    assert_eq!(code, 0, "{stderr}");
    // The result file follows the input: semicolons and a BOM.
    assert!(wd
        .read_bytes("out.csv")
        .starts_with("\u{feff}Line;".as_bytes()));
    assert_eq!(
        wd.results("out.csv"),
        "Line;User Name;Display Name;Status;Password;Licenses;Warnings;Errors\n\
         2;jens@contoso.com;Jens Müller;created;<password>;;;\n\
         3;lina@contoso.com;لينا حداد;created;<password>;;;\n"
    );
    assert_eq!(
        listing(&wd),
        format!(
            "{LISTING_HEADER}\
jens@contoso.com,Jens Müller,Jens,Müller,Vertrieb,Verkauf,R 1.04,'+49 30 1234,'+49 170 1,,jens@privat.example,Hauptstr. 1,Berlin,BE,10115,Deutschland,,DE,,,,No,<object id>\n\
lina@contoso.com,لينا حداد,ليناء,حداد,Beraterin,Verkauf,R 1.05,'+49 30 1235,,,,,Berlin,BE,10115,Deutschland,,DE,,,,No,<object id>\n"
        )
    );
}

#[test]
fn a_tab_separated_csv() {
    let wd = workdir();
    wd.write(
        "tabs.csv",
        "User Name\tDisplay Name\tLicenses\r\nann@contoso.com\tAnn Lee\tEMS\r\nbo@contoso.com\tBo Ek\t\r\n",
    );
    let (code, stderr) = import(
        &wd,
        &["tabs.csv", "-o", "out.csv", "--usage-location", "NL"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "Line\tUser Name\tDisplay Name\tStatus\tPassword\tLicenses\tWarnings\tErrors\n\
         2\tann@contoso.com\tAnn Lee\tcreated\t<password>\tEMS\t\t\n\
         3\tbo@contoso.com\tBo Ek\tcreated\t<password>\t\t\t\n"
    );
}

#[test]
fn the_wizards_licence_and_location_for_everyone() {
    // --license and --usage-location fill empty cells and a missing column; a row's own
    // cell wins. Seats are served in file order: 2 EMS seats for 3 rows.
    let wd = workdir();
    wd.write(
        "tenant.toml",
        &TENANT.replace(
            "seats = 10\napps = [\"INTUNE_A\"]",
            "seats = 2\napps = [\"INTUNE_A\"]",
        ),
    );
    wd.write(
        "users.csv",
        "User Name,Display Name,Licenses\r\na@contoso.com,A,\r\nb@contoso.com,B,ENTERPRISEPACK\r\nc@contoso.com,C,\r\nd@contoso.com,D,\r\n",
    );
    let (code, stderr) = import(
        &wd,
        &[
            "users.csv",
            "-o",
            "out.csv",
            "--license",
            "EMS",
            "--usage-location",
            "us",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n\
         2,a@contoso.com,A,created,<password>,EMS,,\n\
         3,b@contoso.com,B,created,<password>,ENTERPRISEPACK,,\n\
         4,c@contoso.com,C,created,<password>,EMS,,\n\
         5,d@contoso.com,D,created,<password>,,no_seats: EMS,\n"
    );
    let list = listing(&wd);
    assert_eq!(list.matches(",US,").count(), 4, "{list}");

    // Bad options are bad arguments: exit 2, nothing written.
    let wd = workdir();
    wd.write("users.csv", "User Name,Display Name\r\na@contoso.com,A\r\n");
    for (args, error) in [
        (
            ["--license", "ENTERPRISEPACK+E5"],
            "onboard: error: --license: `E5` is not a licence of Contoso (known: ENTERPRISEPACK, EMS)",
        ),
        (
            ["--usage-location", "Holland"],
            "onboard: error: --usage-location `Holland` is not an ISO 3166-1 alpha-2 country code (such as US, NL, DE)",
        ),
    ] {
        let mut all = vec!["users.csv", "-o", "out.csv"];
        all.extend_from_slice(&args);
        let (code, stderr) = import(&wd, &all);
        assert_eq!((code, stderr.trim()), (2, error));
        assert!(!wd.exists("out.csv") && !wd.exists("onboard.db"));
    }
}

#[test]
fn first_steps_in_an_empty_folder() {
    let wd = Workdir::new();
    std::fs::remove_file(wd.path("tenant.toml")).unwrap();
    wd.write(
        "users.csv",
        "User Name,Display Name\r\nann@example.com,Ann\r\n",
    );
    let (code, stderr) = import(&wd, &["users.csv"]);
    assert_eq!(
        (code, stderr.trim()),
        (
            2,
            "onboard: error: tenant file tenant.toml does not exist; `onboard tenant init` writes one to edit (or name another with --tenant)"
        )
    );
    let out = wd.onboard(&["tenant", "init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = wd.read("tenant.toml");
    assert!(text.contains("domains = [\"example.com\"]"), "{text}");
    // Never over an existing file without --force.
    wd.write("tenant.toml", "# mine\n");
    let out = wd.onboard(&["tenant", "init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "onboard: error: tenant file tenant.toml already exists; use --force to overwrite it or -o to choose another name"
    );
    assert_eq!(wd.read("tenant.toml"), "# mine\n");
    let out = wd
        .onboard(&[
            "tenant",
            "init",
            "--force",
            "--name",
            "Contoso",
            "--domain",
            "example.com",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // The starter file works as it is.
    let (code, stderr) = import(
        &wd,
        &["users.csv", "-o", "out.csv", "--license", "ENTERPRISEPACK"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n\
         2,ann@example.com,Ann,created,<password>,ENTERPRISEPACK,,\n"
    );
}
