//! Generates a realistic Microsoft 365 bulk-add CSV for benchmarks (GitHub issue
//! "Performance"), and optionally a tenant file whose seat pools run dry before the end.
//!
//! ```text
//! cargo run --release --example gen_users -- ROWS OUT.csv [--seed N] [--tenant OUT.toml]
//!     [--prefix P] [--seat-ratio R] [--bom] [--employee-ids] [--nightly] [--alternate-emails]
//! ```
//!
//! - Columns: the Microsoft 365 template plus `Usage Location` and `Licenses`.
//! - People from the Netherlands, Germany, France and the Nordics, with their accents
//!   (Zoë, Jürgen, Françoise, Søren …) in names, titles, streets and cities; usernames are
//!   their ASCII transliterations, `first.last.N@domain` with N the row number, so they
//!   are unique apart from the intended duplicates. `--prefix P` makes them
//!   `P.first.last.N@domain`, so a second file never collides with the first.
//! - About 196 bytes a row, CRLF line ends like Excel; some quoted cells with commas and
//!   a few with line breaks.
//! - Licences: 15% of the rows none, 60% one, 25% two joined by `+` (a part number, now
//!   and then the friendly name).
//! - 2% bad rows spread over the docs/rules.md codes one file of these columns can trigger:
//!   required, invalid_username, unverified_domain, too_long, invalid_email,
//!   invalid_usage_location, unknown_license, invalid_value, duplicate_in_file (exact
//!   and case-variant copies of an earlier good row) and malformed_row.
//! - Deterministic: every row is a pure function of the seed and its row number, so the
//!   first N rows are the same whatever ROWS is.
//! - `--tenant PATH` writes a matching tenant TOML (docs/import.md) with seats = R × what the
//!   good rows ask for of each SKU (R = `--seat-ratio`, default 0.8), so every pool runs
//!   dry before the end of the file.
//!
//! - `--employee-ids` adds an `Employee ID` column, `E<row number>`.
//! - `--alternate-emails` gives every good row without an Alternate email address one
//!   (`mail<row number>@example.org`), for the mail benchmark.
//! - `--nightly` (with `--employee-ids`) is the next night's full HR export of the same
//!   people, with 1% of them changed: every 200th row's Job Title changed (0.5%), every
//!   400th person gone (0.25%, leavers under `--full-export`) and ROWS/400 joiners at the
//!   end (0.25%).
//!
//! No dependency beyond the crate's own: a splitmix64 generator is written out below.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

/// The input header: the Microsoft 365 template plus two extension columns.
const HEADER: [&str; 18] = [
    "User Name",
    "First Name",
    "Last Name",
    "Display Name",
    "Job Title",
    "Department",
    "Office Number",
    "Office Phone",
    "Mobile Phone",
    "Fax",
    "Alternate email address",
    "Address",
    "City",
    "State or Province",
    "ZIP or Postal Code",
    "Country or Region",
    "Usage Location",
    "Licenses",
];

// Column positions.
const USER: usize = 0;
const FIRST: usize = 1;
const LAST: usize = 2;
const DISPLAY: usize = 3;
const JOB: usize = 4;
const EMAIL: usize = 10;
const ADDRESS: usize = 11;
const USAGE: usize = 16;
const LICENSES: usize = 17;

// ---------------------------------------------------------------------------------------
// Randomness: splitmix64, seeded per row so rows do not depend on each other.

struct Rng(u64);

impl Rng {
    /// A generator for one (seed, row, purpose) triple.
    fn for_row(seed: u64, row: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ 0x6A09_E667_F3BC_C908);
        let a = r.next_u64();
        let mut r = Rng(a ^ row.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let b = r.next_u64();
        Rng(b ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Picks by weight from `(weight, item)` pairs.
    fn weighted<'a, T>(&mut self, items: &'a [(u64, T)]) -> &'a T {
        let total: u64 = items.iter().map(|(w, _)| w).sum();
        let mut x = self.below(total);
        for (w, item) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].1
    }

    /// `pattern` with every `#` replaced by a random digit.
    fn digits(&mut self, pattern: &str) -> String {
        pattern
            .chars()
            .map(|c| {
                if c == '#' {
                    char::from(b'0' + self.below(10) as u8)
                } else {
                    c
                }
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// The people and places.

struct Office {
    code: &'static str,
    /// Address with `{}` for the house number.
    street: &'static str,
    city: &'static str,
    state: &'static str,
    zip: &'static str,
    country: &'static str,
    usage: &'static str,
    phone: &'static str,
    mobile: &'static str,
}

struct Locale {
    domain: &'static str,
    first: &'static [&'static str],
    last: &'static [&'static str],
    jobs: &'static [&'static str],
    departments: &'static [&'static str],
    offices: &'static [Office],
    mail: &'static [&'static str],
    /// A second address line, for the few addresses that span two lines.
    extra_line: &'static str,
}

/// How often each of [`LOCALES`] occurs: Dutch, German, French, Nordic.
const LOCALE_WEIGHTS: [(u64, usize); 4] = [(35, 0), (30, 1), (20, 2), (15, 3)];

const LOCALES: [Locale; 4] = [
    Locale {
        domain: "fabrikam.nl",
        first: &[
            "Zoë",
            "Jeroen",
            "Mariëlle",
            "Anaïs",
            "Sanne",
            "Pieter",
            "Daan",
            "Femke",
            "Noud",
            "Lotte",
            "Joëlle",
            "Bram",
            "Eva",
            "Henk",
            "Wouter",
            "Sem",
            "Lieke",
            "Thijs",
            "Floor",
            "Ruben",
            "Iris",
            "Maaike",
            "Joost",
            "Renée",
            "Chloë",
            "Loïs",
            "Noël",
            "Eline",
            "Sven",
            "Ilse",
            "Niels",
            "Anouk",
            "Bart",
            "Esmée",
            "Gijs",
            "Tess",
            "Job",
            "Fleur",
            "Luuk",
            "Roos",
        ],
        last: &[
            "de Vries",
            "van der Meulen",
            "Dijkstra",
            "Brouwer",
            "Bakker",
            "Jansen",
            "Visser",
            "Smit",
            "van den Berg",
            "de Boer",
            "Mulder",
            "Vermeulen",
            "de Jong",
            "Peters",
            "Jacobs",
            "Hendriks",
            "van Dijk",
            "Janssen",
            "de Graaf",
            "Kuijpers",
            "van Leeuwen",
            "Çelik",
            "Öztürk",
            "El Amrani",
            "Bosman",
            "Meijer",
            "Koster",
            "Hoekstra",
        ],
        jobs: &[
            "Financieel controller",
            "Medewerker klantenservice",
            "Accountmanager",
            "Software developer",
            "HR-adviseur",
            "Teamleider logistiek",
            "Magazijnmedewerker",
            "Projectmanager",
            "Office manager",
            "Data analist",
            "Manager, Customer Success",
            "Beleidsmedewerker",
            "Receptioniste",
            "Coördinator facilitair",
        ],
        departments: &[
            "Financiën",
            "IT",
            "Marketing",
            "Verkoop",
            "Facilitair",
            "Engineering",
            "HR",
            "Logistiek",
            "Klantenservice",
            "Inkoop",
        ],
        offices: &[
            Office {
                code: "AMS",
                street: "Herengracht {}",
                city: "Amsterdam",
                state: "Noord-Holland",
                zip: "1016 BR",
                country: "Netherlands",
                usage: "NL",
                phone: "+31 20 555 ####",
                mobile: "+31 6 #### ####",
            },
            Office {
                code: "RTM",
                street: "Coolsingel {}",
                city: "Rotterdam",
                state: "Zuid-Holland",
                zip: "3012 AD",
                country: "Netherlands",
                usage: "NL",
                phone: "+31 10 555 ####",
                mobile: "+31 6 #### ####",
            },
            Office {
                code: "UTR",
                street: "Croeselaan {}",
                city: "Utrecht",
                state: "Utrecht",
                zip: "3521 BJ",
                country: "Netherlands",
                usage: "NL",
                phone: "+31 30 555 ####",
                mobile: "+31 6 #### ####",
            },
        ],
        mail: &[
            "gmail.com",
            "outlook.com",
            "hotmail.nl",
            "ziggo.nl",
            "kpnmail.nl",
        ],
        extra_line: "3e verdieping",
    },
    Locale {
        domain: "contoso.de",
        first: &[
            "Jürgen",
            "Sabine",
            "Lukas",
            "Grete",
            "Maximilian",
            "Änne",
            "Florian",
            "Klaus",
            "Leonie",
            "Tobias",
            "Jörg",
            "Björn",
            "Günther",
            "Uwe",
            "Käthe",
            "Sören",
            "Hannah",
            "Felix",
            "Mia",
            "Lena",
            "Paul",
            "Jonas",
            "Emilia",
            "Anja",
            "Dörte",
            "Till",
            "Götz",
            "Ute",
            "Bärbel",
            "Jürgen",
        ],
        last: &[
            "Müller",
            "Schröder",
            "Weiß",
            "Hoffmann",
            "König",
            "Bäcker",
            "Groß",
            "Becker",
            "Fischer",
            "Wagner",
            "Schäfer",
            "Krüger",
            "Schulze",
            "Köhler",
            "Jäger",
            "Lößner",
            "Wolf",
            "Neumann",
            "Schwarz",
            "Zimmermann",
            "Braun",
            "Hartmann",
            "Vogel",
            "Strauß",
            "Büttner",
            "Kühn",
        ],
        jobs: &[
            "Geschäftsführer",
            "Leiterin Vertrieb",
            "Systemadministrator",
            "Buchhalterin",
            "Vertriebsmitarbeiter",
            "Personalreferentin",
            "Softwareentwickler",
            "IT-Leiter",
            "Werkstudentin",
            "Sachbearbeiter Einkauf",
            "Teamleiter Qualitätssicherung",
            "Bürokauffrau",
            "Lagerist, Versand",
        ],
        departments: &[
            "Geschäftsleitung",
            "Vertrieb",
            "IT",
            "Finanzen",
            "Personal",
            "Entwicklung",
            "Marketing",
            "Einkauf",
            "Qualitätssicherung",
        ],
        offices: &[
            Office {
                code: "BER",
                street: "Friedrichstraße {}",
                city: "Berlin",
                state: "Berlin",
                zip: "10117",
                country: "Germany",
                usage: "DE",
                phone: "+49 30 5557 ####",
                mobile: "+49 151 5557 ####",
            },
            Office {
                code: "MUC",
                street: "Leopoldstraße {}",
                city: "München",
                state: "Bayern",
                zip: "80802",
                country: "Germany",
                usage: "DE",
                phone: "+49 89 5557 ####",
                mobile: "+49 160 5557 ####",
            },
            Office {
                code: "HAM",
                street: "Mönckebergstraße {}",
                city: "Hamburg",
                state: "Hamburg",
                zip: "20095",
                country: "Germany",
                usage: "DE",
                phone: "+49 40 5557 ####",
                mobile: "+49 171 5557 ####",
            },
        ],
        mail: &["gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de"],
        extra_line: "Hinterhaus, 3. OG",
    },
    Locale {
        domain: "contoso.fr",
        first: &[
            "Françoise",
            "Amélie",
            "Jean-Luc",
            "Hélène",
            "Thomas",
            "Chloé",
            "Margot",
            "Rémi",
            "Océane",
            "Benoît",
            "Inès",
            "Lucas",
            "Élodie",
            "Gaëlle",
            "Jérôme",
            "Clémence",
            "Mathéo",
            "Léa",
            "Noémie",
            "Raphaël",
            "François",
            "Zoé",
            "Cécile",
            "Hervé",
            "Maëlle",
            "Loïc",
        ],
        last: &[
            "Lefèvre",
            "Dubois",
            "Moreau",
            "Girard",
            "Lambert",
            "Petit",
            "Garnier",
            "Roux",
            "Faure",
            "d'Arcy",
            "Martin",
            "Bernard",
            "Lefebvre",
            "Mercier",
            "Bonnet",
            "Chevalier",
            "Rousseau",
            "Fournier",
            "Légaré",
            "Béranger",
            "Fontaine",
            "Gauthier",
            "Perrin",
            "Brunet",
            "Rivière",
            "Caron",
            "Noël",
        ],
        jobs: &[
            "Directrice commerciale",
            "Chargée de communication",
            "Responsable juridique",
            "Comptable",
            "Technicien support",
            "Assistante de direction",
            "Juriste",
            "Développeur",
            "Cheffe de projet",
            "Analyste sécurité",
            "Architecte réseau",
            "Responsable RH, paie",
        ],
        departments: &[
            "Ventes",
            "Communication",
            "Juridique",
            "Finance",
            "Informatique",
            "Direction",
            "R&D",
            "Marketing",
            "Sécurité",
            "Ressources humaines",
        ],
        offices: &[
            Office {
                code: "PAR",
                street: "{}, rue de la Paix",
                city: "Paris",
                state: "Île-de-France",
                zip: "75002",
                country: "France",
                usage: "FR",
                phone: "+33 1 55 55 ## ##",
                mobile: "+33 6 55 55 ## ##",
            },
            Office {
                code: "LYS",
                street: "{}, rue de la République",
                city: "Lyon",
                state: "Auvergne-Rhône-Alpes",
                zip: "69002",
                country: "France",
                usage: "FR",
                phone: "+33 4 55 55 ## ##",
                mobile: "+33 7 55 55 ## ##",
            },
        ],
        mail: &[
            "gmail.com",
            "orange.fr",
            "free.fr",
            "laposte.net",
            "outlook.fr",
        ],
        extra_line: "Bâtiment B, 2e étage",
    },
    Locale {
        domain: "contoso.com",
        first: &[
            "Søren", "Åsa", "Bjørn", "Mette", "Lars", "Astrid", "Ingrid", "Mikkel", "Freja",
            "Oskar", "Linnéa", "Päivi", "Åke", "Jørgen", "Sigrid", "Ragnhild", "Tove", "Eino",
            "Aino", "Elsa", "Nils", "Kåre", "Mårten", "Sølvi",
        ],
        last: &[
            "Nielsen",
            "Jensen",
            "Hansen",
            "Pedersen",
            "Sørensen",
            "Møller",
            "Jørgensen",
            "Andersson",
            "Johansson",
            "Lindström",
            "Åkesson",
            "Bergström",
            "Söderberg",
            "Virtanen",
            "Mäkinen",
            "Hämäläinen",
            "Østergaard",
            "Lindqvist",
            "Dahl",
            "Haugen",
            "Bråten",
            "Løvås",
        ],
        jobs: &[
            "Økonomichef",
            "Projektleder",
            "Säljare",
            "Systemutvecklare",
            "UX Designer",
            "Kundeservicemedarbejder",
            "Ohjelmistokehittäjä",
            "Lagerarbetare",
            "HR-partner",
            "Controller",
        ],
        departments: &[
            "Økonomi",
            "Salg",
            "Utveckling",
            "IT",
            "Kundeservice",
            "Lager",
            "HR",
            "Tuotekehitys",
        ],
        offices: &[
            Office {
                code: "CPH",
                street: "Vestergade {}",
                city: "København K",
                state: "Region Hovedstaden",
                zip: "1456",
                country: "Denmark",
                usage: "DK",
                phone: "+45 33 55 ## ##",
                mobile: "+45 20 ## ## ##",
            },
            Office {
                code: "STO",
                street: "Drottninggatan {}",
                city: "Stockholm",
                state: "Stockholms län",
                zip: "111 51",
                country: "Sweden",
                usage: "SE",
                phone: "+46 8 555 ### ##",
                mobile: "+46 70 555 ## ##",
            },
            Office {
                code: "OSL",
                street: "Karl Johans gate {}",
                city: "Oslo",
                state: "Oslo",
                zip: "0154",
                country: "Norway",
                usage: "NO",
                phone: "+47 22 55 ## ##",
                mobile: "+47 9## ## ###",
            },
            Office {
                code: "HEL",
                street: "Mannerheimintie {}",
                city: "Helsinki",
                state: "Uusimaa",
                zip: "00100",
                country: "Finland",
                usage: "FI",
                phone: "+358 9 5551 ####",
                mobile: "+358 40 555 ####",
            },
        ],
        mail: &[
            "gmail.com",
            "outlook.com",
            "live.se",
            "hotmail.dk",
            "online.no",
        ],
        extra_line: "3. sal",
    },
];

/// The tenant's domains; the first is the default domain.
const DOMAINS: [&str; 4] = ["contoso.com", "fabrikam.nl", "contoso.de", "contoso.fr"];

struct Sku {
    sku: &'static str,
    name: &'static str,
    apps: &'static [&'static str],
}

const SKUS: [Sku; 9] = [
    Sku {
        sku: "SPE_E3",
        name: "Microsoft 365 E3",
        apps: &[
            "EXCHANGE_S_ENTERPRISE",
            "TEAMS1",
            "SHAREPOINTENTERPRISE",
            "SHAREPOINTWAC",
            "OFFICESUBSCRIPTION",
            "MCOSTANDARD",
            "INTUNE_A",
            "AAD_PREMIUM",
            "MFA_PREMIUM",
            "RMS_S_ENTERPRISE",
            "SWAY",
            "YAMMER_ENTERPRISE",
            "FORMS_PLAN_E3",
            "PROJECTWORKMANAGEMENT",
            "WHITEBOARD_PLAN2",
        ],
    },
    Sku {
        sku: "ENTERPRISEPACK",
        name: "Office 365 E3",
        apps: &[
            "EXCHANGE_S_ENTERPRISE",
            "TEAMS1",
            "SHAREPOINTENTERPRISE",
            "SHAREPOINTWAC",
            "OFFICESUBSCRIPTION",
            "MCOSTANDARD",
            "RMS_S_ENTERPRISE",
            "SWAY",
            "YAMMER_ENTERPRISE",
            "FORMS_PLAN_E3",
        ],
    },
    Sku {
        sku: "O365_BUSINESS_PREMIUM",
        name: "Microsoft 365 Business Standard",
        apps: &[
            "EXCHANGE_S_STANDARD",
            "TEAMS1",
            "SHAREPOINTSTANDARD",
            "SHAREPOINTWAC",
            "OFFICE_BUSINESS",
            "MCOSTANDARD",
            "SWAY",
            "FORMS_PLAN_E1",
        ],
    },
    Sku {
        sku: "SPE_F1",
        name: "Microsoft 365 F3",
        apps: &[
            "EXCHANGE_S_DESKLESS",
            "TEAMS1",
            "SHAREPOINTDESKLESS",
            "SHAREPOINTWAC",
            "INTUNE_A",
            "AAD_PREMIUM",
        ],
    },
    Sku {
        sku: "SPE_E5",
        name: "Microsoft 365 E5",
        apps: &[
            "EXCHANGE_S_ENTERPRISE",
            "TEAMS1",
            "SHAREPOINTENTERPRISE",
            "OFFICESUBSCRIPTION",
            "MCOEV",
            "INTUNE_A",
            "AAD_PREMIUM_P2",
            "ATP_ENTERPRISE",
            "BI_AZURE_P2",
        ],
    },
    Sku {
        sku: "EMS",
        name: "Enterprise Mobility + Security E3",
        apps: &[
            "AAD_PREMIUM",
            "INTUNE_A",
            "MFA_PREMIUM",
            "RMS_S_ENTERPRISE",
            "RMS_S_PREMIUM",
        ],
    },
    Sku {
        sku: "POWER_BI_PRO",
        name: "Power BI Pro",
        apps: &["BI_AZURE_P2"],
    },
    Sku {
        sku: "VISIOCLIENT",
        name: "Visio Plan 2",
        apps: &["VISIO_CLIENT_SUBSCRIPTION", "VISIOONLINE"],
    },
    Sku {
        sku: "PROJECTPROFESSIONAL",
        name: "Project Plan 3",
        apps: &["PROJECT_CLIENT_SUBSCRIPTION", "SHAREPOINT_PROJECT"],
    },
];

/// Main licences by weight (indices into SKUS).
const MAIN_SKUS: [(u64, usize); 5] = [(45, 0), (20, 1), (15, 2), (15, 3), (5, 4)];
/// Add-on licences by weight, for rows with two.
const ADDON_SKUS: [(u64, usize); 4] = [(40, 5), (30, 6), (15, 7), (15, 8)];

// ---------------------------------------------------------------------------------------
// Rows.

/// The ways a row goes wrong, by weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Required,
    InvalidUsername,
    UnverifiedDomain,
    TooLong,
    InvalidEmail,
    InvalidUsageLocation,
    UnknownLicense,
    InvalidValue,
    Duplicate,
    Malformed,
}

const BAD_KINDS: [(u64, Bad); 10] = [
    (8, Bad::Required),
    (12, Bad::InvalidUsername),
    (10, Bad::UnverifiedDomain),
    (8, Bad::TooLong),
    (10, Bad::InvalidEmail),
    (10, Bad::InvalidUsageLocation),
    (10, Bad::UnknownLicense),
    (6, Bad::InvalidValue),
    (20, Bad::Duplicate),
    (6, Bad::Malformed),
];

impl Bad {
    fn code(self) -> &'static str {
        match self {
            Bad::Required => "required",
            Bad::InvalidUsername => "invalid_username",
            Bad::UnverifiedDomain => "unverified_domain",
            Bad::TooLong => "too_long",
            Bad::InvalidEmail => "invalid_email",
            Bad::InvalidUsageLocation => "invalid_usage_location",
            Bad::UnknownLicense => "unknown_license",
            Bad::InvalidValue => "invalid_value",
            Bad::Duplicate => "duplicate_in_file",
            Bad::Malformed => "malformed_row",
        }
    }
}

/// Bad rows per mille.
const BAD_PER_MILLE: u64 = 20;

/// Stream numbers for [`Rng::for_row`].
const STREAM_ROW: u64 = 0;
const STREAM_BAD: u64 = 1;

struct Gen {
    seed: u64,
    prefix: Option<String>,
}

/// One generated record.
struct Row {
    cells: Vec<String>,
    /// SKU indices asked for (only counted as demand for good rows).
    licenses: Vec<usize>,
}

impl Gen {
    /// Whether row `n` (1-based data row) is bad, and how. Row 1 is always good so that
    /// a duplicate always has an earlier row to copy.
    fn bad(&self, n: u64) -> Option<Bad> {
        let mut rng = Rng::for_row(self.seed, n, STREAM_BAD);
        if n < 2 || !rng.chance(BAD_PER_MILLE) {
            return None;
        }
        Some(*rng.weighted(&BAD_KINDS))
    }

    /// The good version of row `n`.
    fn good(&self, n: u64) -> Row {
        let mut rng = Rng::for_row(self.seed, n, STREAM_ROW);
        let loc = &LOCALES[*rng.weighted(&LOCALE_WEIGHTS)];
        let office = rng.pick(loc.offices);
        let first = *rng.pick(loc.first);
        let last = *rng.pick(loc.last);

        let local = match &self.prefix {
            Some(p) => format!("{p}.{}.{}.{n}", slug(first), slug(last)),
            None => format!("{}.{}.{n}", slug(first), slug(last)),
        };
        let user = match rng.below(100) {
            // A User Name without a domain gets the tenant's default domain.
            0..=1 => local,
            2..=11 => format!("{local}@{}", DOMAINS[0]),
            _ => format!("{local}@{}", loc.domain),
        };
        let display = format!("{first} {last}");
        let job = if rng.chance(950) {
            rng.pick(loc.jobs).to_string()
        } else {
            String::new()
        };
        let department = if rng.chance(950) {
            rng.pick(loc.departments).to_string()
        } else {
            String::new()
        };
        let office_number = if rng.chance(850) {
            format!("{}-{}.{:02}", office.code, rng.below(8), 1 + rng.below(40))
        } else {
            String::new()
        };
        let office_phone = if rng.chance(800) {
            rng.digits(office.phone)
        } else {
            String::new()
        };
        let mobile = if rng.chance(500) {
            rng.digits(office.mobile)
        } else {
            String::new()
        };
        let fax = if rng.chance(20) {
            rng.digits(office.phone)
        } else {
            String::new()
        };
        let email = if rng.chance(165) {
            let sep = *rng.pick(&[".", "_", ""]);
            format!(
                "{}{sep}{}@{}",
                slug(first),
                slug(last).replace('\'', ""),
                rng.pick(loc.mail)
            )
        } else {
            String::new()
        };
        let mut address = office
            .street
            .replace("{}", &(1 + rng.below(250)).to_string());
        if rng.chance(10) {
            address = format!("{address}\n{}", loc.extra_line);
        }
        let usage = match rng.below(100) {
            // Empty: the tenant's default usage location.
            0..=9 => String::new(),
            10..=12 => office.usage.to_ascii_lowercase(),
            _ => office.usage.to_string(),
        };
        let licenses = match rng.below(100) {
            0..=14 => vec![],
            15..=74 => vec![*rng.weighted(&MAIN_SKUS)],
            _ => vec![*rng.weighted(&MAIN_SKUS), *rng.weighted(&ADDON_SKUS)],
        };
        let licenses_cell = licenses
            .iter()
            .map(|&i| {
                // Now and then the friendly name, as admins type it (but never one with `+`).
                if !SKUS[i].name.contains('+') && rng.chance(100) {
                    SKUS[i].name
                } else {
                    SKUS[i].sku
                }
            })
            .collect::<Vec<_>>()
            .join("+");
        Row {
            cells: vec![
                user,
                first.to_string(),
                last.to_string(),
                display,
                job,
                department,
                office_number,
                office_phone,
                mobile,
                fax,
                email,
                address,
                office.city.to_string(),
                office.state.to_string(),
                office.zip.to_string(),
                office.country.to_string(),
                usage,
                licenses_cell,
            ],
            licenses,
        }
    }

    /// Row `n` as written, and the code it is meant to fail with.
    fn row(&self, n: u64) -> (Row, Option<Bad>) {
        let Some(bad) = self.bad(n) else {
            return (self.good(n), None);
        };
        let mut rng = Rng::for_row(self.seed, n, STREAM_BAD);
        rng.next_u64(); // past the draws of `bad`
        rng.next_u64();
        if bad == Bad::Duplicate {
            // A copy of an earlier good row, half the time with its User Name in other case.
            for _ in 0..16 {
                let earlier = 1 + rng.below(n - 1);
                if self.bad(earlier).is_none() {
                    let mut row = self.good(earlier);
                    row.cells[USER] = match rng.below(4) {
                        0 | 1 => row.cells[USER].clone(),
                        2 => row.cells[USER].to_uppercase(),
                        _ => capitalise(&row.cells[USER]),
                    };
                    return (row, Some(bad));
                }
            }
        }
        let mut row = self.good(n);
        let bad = if bad == Bad::Duplicate {
            Bad::Required // no good earlier row found (tiny files): fail another way
        } else {
            bad
        };
        let c = &mut row.cells;
        match bad {
            Bad::Required => {
                if rng.chance(700) {
                    c[DISPLAY].clear();
                } else {
                    c[USER].clear();
                }
            }
            Bad::InvalidUsername => {
                let (local, domain) = match c[USER].split_once('@') {
                    Some((l, d)) => (l.to_string(), d.to_string()),
                    None => (c[USER].clone(), DOMAINS[0].to_string()),
                };
                // The name as typed, accents and all, instead of its transliteration.
                let typed = format!("{}.{}.{n}", c[FIRST], c[LAST])
                    .to_lowercase()
                    .replace(' ', "");
                c[USER] = match rng.below(6) {
                    0 => format!("{}@{domain}", local.replacen('.', "..", 1)),
                    1 => format!(".{local}@{domain}"),
                    2 => format!("{}@{domain}", local.replacen('.', " ", 1)),
                    3 if !typed.is_ascii() => format!("{typed}@{domain}"),
                    4 => format!("{local}@{domain}@{domain}"),
                    _ => format!("{local}({domain})"),
                };
            }
            Bad::UnverifiedDomain => {
                let local = c[USER].split('@').next().unwrap_or_default().to_string();
                let wrong = rng.pick(&[
                    "fabrikam.com",
                    "contoso.nl",
                    "contoso.co.uk",
                    "contosso.de",
                    "cöntoso.de",
                    "gmail.com",
                ]);
                c[USER] = format!("{local}@{wrong}");
            }
            Bad::TooLong => match rng.below(3) {
                0 => {
                    c[JOB] = format!(
                        "{} and deputy {} for the Benelux, DACH, France and the Nordic countries, ad interim until further notice",
                        c[JOB], c[JOB]
                    );
                    while c[JOB].chars().count() <= 128 {
                        c[JOB].push_str(" (acting)");
                    }
                }
                1 => {
                    c[FIRST] = c[FIRST].repeat(64 / c[FIRST].chars().count() + 1);
                }
                _ => {
                    let base = c[ADDRESS].clone();
                    while c[ADDRESS].chars().count() <= 256 {
                        c[ADDRESS].push_str(" / ");
                        c[ADDRESS].push_str(&base);
                    }
                }
            },
            Bad::InvalidEmail => {
                let name = c[USER].split('@').next().unwrap_or_default().to_string();
                c[EMAIL] = match rng.below(4) {
                    0 => format!("{name}(at)gmail.com"),
                    1 => format!("{name}@"),
                    2 => format!("{name}@@outlook.com"),
                    _ => "n.v.t.".to_string(),
                };
            }
            Bad::InvalidUsageLocation => {
                c[USAGE] = rng
                    .pick(&["UK", "XX", "NLD", "EU", "Deutschland", "D", "ZZ"])
                    .to_string();
            }
            Bad::UnknownLicense => {
                let wrong = *rng.pick(&[
                    "VISIO_PLAN2",
                    "SPE_E33",
                    "Microsoft 365 E7",
                    "Office 365 E5",
                    "POWERBI_PRO",
                    "M365_COPILOT",
                ]);
                c[LICENSES] = if c[LICENSES].is_empty() {
                    wrong.to_string()
                } else {
                    format!("{}+{wrong}", c[LICENSES])
                };
            }
            Bad::InvalidValue => {
                // A zero-width space pasted from a web page.
                let field = if rng.chance(500) { LAST } else { DISPLAY };
                let at = c[field].char_indices().nth(2).map_or(0, |(i, _)| i);
                c[field].insert(at, '\u{200B}');
            }
            Bad::Malformed => {
                if rng.chance(500) {
                    // The export cut the last columns off.
                    c.truncate(c.len() - 2);
                } else {
                    // A comma in the job title that nobody quoted.
                    c[JOB] = if c[JOB].is_empty() {
                        "Manager".to_string()
                    } else {
                        c[JOB].replace(", ", " ")
                    };
                    c.insert(JOB + 1, "a.i.".to_string());
                }
            }
            Bad::Duplicate => unreachable!("handled above"),
        }
        (row, Some(bad))
    }
}

/// ASCII transliteration for usernames: `Jürgen` → `juergen`, `Søren` → `soeren`,
/// `Françoise` → `francoise`, `van der Meulen` → `vandermeulen`.
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' | 'æ' => out.push_str("ae"),
            'ö' | 'ø' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'å' => out.push_str("aa"),
            'ß' => out.push_str("ss"),
            'à' | 'á' | 'â' => out.push('a'),
            'ç' => out.push('c'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' | 'í' => out.push('i'),
            'ô' | 'ó' => out.push('o'),
            'û' | 'ù' | 'ú' => out.push('u'),
            ' ' => {}
            c if c.is_ascii_alphanumeric() || c == '-' || c == '\'' => out.push(c),
            _ => {}
        }
    }
    out
}

/// `zoe.devries.7@fabrikam.nl` → `Zoe.Devries.7@Fabrikam.nl`.
fn capitalise(user: &str) -> String {
    let mut out = String::with_capacity(user.len());
    let mut start = true;
    for c in user.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = matches!(c, '.' | '@');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Command line and output.

struct Args {
    rows: u64,
    out: String,
    seed: u64,
    tenant: Option<String>,
    prefix: Option<String>,
    seat_ratio: f64,
    bom: bool,
    employee_ids: bool,
    nightly: bool,
    alternate_emails: bool,
}

const USAGE_TEXT: &str = "usage: gen_users ROWS OUT.csv [--seed N] [--tenant OUT_TENANT.toml] \
[--prefix P] [--seat-ratio R] [--bom] [--employee-ids] [--nightly] [--alternate-emails]\n  OUT.csv may be - for stdout";

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut args = Args {
        rows: 0,
        out: String::new(),
        seed: 1,
        tenant: None,
        prefix: None,
        seat_ratio: 0.8,
        bom: false,
        employee_ids: false,
        nightly: false,
        alternate_emails: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .map_err(|_| "--seed takes a number")?
            }
            "--tenant" => args.tenant = Some(value("--tenant")?),
            "--prefix" => {
                let p = value("--prefix")?;
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err("--prefix takes ASCII letters and digits".into());
                }
                args.prefix = Some(p.to_ascii_lowercase());
            }
            "--seat-ratio" => {
                args.seat_ratio = value("--seat-ratio")?
                    .parse()
                    .ok()
                    .filter(|r: &f64| *r >= 0.0)
                    .ok_or("--seat-ratio takes a number ≥ 0")?
            }
            "--bom" => args.bom = true,
            "--employee-ids" => args.employee_ids = true,
            "--nightly" => args.nightly = true,
            "--alternate-emails" => args.alternate_emails = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => positional.push(a),
        }
    }
    let [rows, out] =
        <[String; 2]>::try_from(positional).map_err(|_| "expected ROWS and OUT.csv".to_string())?;
    args.rows = rows
        .replace('_', "")
        .parse()
        .map_err(|_| format!("ROWS `{rows}` is not a number"))?;
    args.out = out;
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gen_users: {e}");
            }
            eprintln!("{USAGE_TEXT}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_users: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let sink: Box<dyn Write> = if args.out == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(File::create(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out))?)
    };
    let mut out = CountingWriter {
        inner: BufWriter::with_capacity(256 << 10, sink),
        bytes: 0,
    };
    if args.bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut csv = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_writer(&mut out);
    if args.employee_ids {
        let mut header = HEADER.to_vec();
        header.push("Employee ID");
        csv.write_record(&header)?;
    } else {
        csv.write_record(HEADER)?;
    }
    csv.flush()?;
    let header_bytes = csv.get_ref().bytes;

    let generator = Gen {
        seed: args.seed,
        prefix: args.prefix.clone(),
    };
    let mut demand = [0u64; SKUS.len()];
    let mut bad_counts = [0u64; BAD_KINDS.len()];
    let mut license_counts = [0u64; 3];
    let joiners = if args.nightly { args.rows / 400 } else { 0 };
    for n in 1..=args.rows + joiners {
        if args.nightly && n <= args.rows && n % 400 == 0 {
            continue; // a leaver: not in tonight's export
        }
        let (mut row, bad) = generator.row(n);
        if args.nightly && n % 200 == 100 && row.cells.len() > 4 {
            row.cells[4].push_str(" (acting)"); // Job Title
        }
        if args.employee_ids {
            row.cells.push(format!("E{n}"));
        }
        if args.alternate_emails && bad.is_none() && row.cells[EMAIL].is_empty() {
            row.cells[EMAIL] = format!("mail{n}@example.org");
        }
        csv.write_record(&row.cells)?;
        license_counts[row.licenses.len()] += 1;
        match bad {
            None => row.licenses.iter().for_each(|&i| demand[i] += 1),
            Some(b) => {
                let k = BAD_KINDS.iter().position(|(_, k)| *k == b).unwrap_or(0);
                bad_counts[k] += 1;
            }
        }
    }
    csv.flush()?;
    drop(csv);
    out.flush()?;
    let data_bytes = out.bytes - header_bytes;

    let bad_total: u64 = bad_counts.iter().sum();
    let rows = args.rows.max(1) as f64;
    eprintln!(
        "gen_users: {} rows, {} bytes ({:.1} bytes a row), seed {}{}",
        args.rows,
        out.bytes,
        data_bytes as f64 / rows,
        args.seed,
        args.prefix
            .as_ref()
            .map(|p| format!(", prefix {p}"))
            .unwrap_or_default()
    );
    eprintln!(
        "  licences: none {:.1}%, one {:.1}%, two {:.1}%",
        100.0 * license_counts[0] as f64 / rows,
        100.0 * license_counts[1] as f64 / rows,
        100.0 * license_counts[2] as f64 / rows
    );
    let spread: Vec<String> = BAD_KINDS
        .iter()
        .zip(bad_counts)
        .map(|((_, k), c)| format!("{} {c}", k.code()))
        .collect();
    eprintln!(
        "  bad rows: {bad_total} ({:.2}%): {}",
        100.0 * bad_total as f64 / rows,
        spread.join(", ")
    );
    if let Some(path) = &args.tenant {
        let text = tenant_toml(args, &demand);
        std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?;
        let pools: Vec<String> = SKUS
            .iter()
            .zip(demand)
            .map(|(s, d)| format!("{} {}/{d}", s.sku, seats(d, args.seat_ratio)))
            .collect();
        eprintln!("  tenant {path}: seats/asked {}", pools.join(", "));
    }
    Ok(())
}

fn seats(demand: u64, ratio: f64) -> u64 {
    (demand as f64 * ratio).floor() as u64
}

fn tenant_toml(args: &Args, demand: &[u64]) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "# Generated by `cargo run --release --example gen_users -- {} ... --seed {}{}`.\n\
         # Seats are {} x what the file's good rows ask for, so pools run dry before its end.\n\n",
        args.rows,
        args.seed,
        args.prefix
            .as_ref()
            .map(|p| format!(" --prefix {p}"))
            .unwrap_or_default(),
        args.seat_ratio
    ));
    t.push_str("name = \"Contoso\"\n");
    let domains: Vec<String> = DOMAINS.iter().map(|d| format!("\"{d}\"")).collect();
    t.push_str(&format!("domains = [{}]\n", domains.join(", ")));
    t.push_str(&format!("default_domain = \"{}\"\n", DOMAINS[0]));
    t.push_str("default_usage_location = \"NL\"\n\n");
    t.push_str("[password]\nlength = 16\nforce_change = true\n");
    for (sku, &d) in SKUS.iter().zip(demand) {
        t.push_str(&format!(
            "\n[[license]]\nsku = \"{}\"\nname = \"{}\"\nseats = {}   # asked for: {d}\napps = [\n",
            sku.sku,
            sku.name,
            seats(d, args.seat_ratio)
        ));
        for app in sku.apps {
            t.push_str(&format!("    \"{app}\",\n"));
        }
        t.push_str("]\n");
    }
    t
}

/// Counts the bytes written, for the bytes-a-row figure.
struct CountingWriter<W: Write> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
