//! User Names and Display Names that the input leaves out, built from a `--columns`
//! pattern ([`crate::mapping`]) before the row rules see the row.
//!
//! A User Name is made of the row's names folded to what a username may hold (`Zoë
//! Ærøskøbing` → `zoe.aeroskobing`); one that an earlier row of the file already has gets
//! a number (`jan.jansen2@…`). Numbering needs file order, so this runs on the reader's
//! side, one row after the other, and the rules then check the name like a typed one.

use std::collections::HashMap;

use anyhow::{bail, Result};
use unicode_normalization::UnicodeNormalization;

use crate::columns::{Columns, Field};
use crate::input::RawRow;
use crate::mapping::Mapping;
use crate::rules::Digest;

/// A value a pattern can put in a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{first}`: First Name.
    First,
    /// `{last}`: Last Name.
    Last,
    /// `{initial}`: the first letter of First Name.
    Initial,
    /// `{display}`: Display Name.
    Display,
    /// `{employee_id}`: Employee ID.
    EmployeeId,
}

impl Placeholder {
    pub const ALL: [Placeholder; 5] = [
        Placeholder::First,
        Placeholder::Last,
        Placeholder::Initial,
        Placeholder::Display,
        Placeholder::EmployeeId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placeholder::First => "first",
            Placeholder::Last => "last",
            Placeholder::Initial => "initial",
            Placeholder::Display => "display",
            Placeholder::EmployeeId => "employee_id",
        }
    }

    /// The field the value comes from.
    pub fn field(self) -> Field {
        match self {
            Placeholder::First | Placeholder::Initial => Field::FirstName,
            Placeholder::Last => Field::LastName,
            Placeholder::Display => Field::DisplayName,
            Placeholder::EmployeeId => Field::EmployeeId,
        }
    }

    fn parse(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(Placeholder),
}

/// Which name a pattern builds: a User Name is folded to a username's characters, a
/// Display Name keeps the values as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    UserName,
    DisplayName,
}

/// A pattern such as `{first}.{last}@fabrikam.nl`: text with placeholders in braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
    kind: PatternKind,
    /// The pattern as written, for messages.
    pub text: String,
    /// The domain after `@` (User Name patterns), lower-cased.
    pub domain: Option<String>,
}

/// Characters a pattern's own text may have before the `@` of a User Name (the rules'
/// username characters, upper case folded).
const LOCAL_TEXT: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~";

impl Pattern {
    /// Parses a pattern; the error is a message without the place (the caller knows it).
    pub fn parse(text: &str, kind: PatternKind) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("`}}` without `{{` in pattern `{text}`"));
            }
            literal.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("`{{` without `}}` in pattern `{text}`"));
            };
            let name = &rest[open + 1..open + close];
            let Some(p) = Placeholder::parse(name.trim()) else {
                return Err(format!(
                    "unknown placeholder `{{{name}}}` in pattern `{text}`; known: {}",
                    Placeholder::ALL
                        .iter()
                        .map(|p| format!("{{{}}}", p.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if kind == PatternKind::DisplayName && p == Placeholder::Display {
                return Err("a [display_name] pattern cannot use {display}".to_string());
            }
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Value(p));
            rest = &rest[open + close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Value(_))) {
            return Err(format!(
                "pattern `{text}` has no placeholder such as {{first}} or {{last}}"
            ));
        }
        let mut domain = None;
        if kind == PatternKind::UserName {
            for piece in &mut pieces {
                if let Piece::Text(t) = piece {
                    *t = t.to_lowercase();
                }
            }
            let at = pieces.iter().position(|p| match p {
                Piece::Text(t) => t.contains('@'),
                Piece::Value(_) => false,
            });
            if let Some(at) = at {
                if pieces[at + 1..]
                    .iter()
                    .any(|p| matches!(p, Piece::Value(_)))
                {
                    return Err(format!(
                        "pattern `{text}`: placeholders go before the `@`, the domain is fixed"
                    ));
                }
                let Piece::Text(t) = &pieces[at] else {
                    unreachable!("found as text")
                };
                let (local, dom) = t.split_once('@').expect("has @");
                let dom = dom.to_string();
                if dom.is_empty()
                    || dom.contains('@')
                    || !dom
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                {
                    return Err(format!(
                        "pattern `{text}`: `{dom}` after the `@` is not a domain name"
                    ));
                }
                let local = local.to_string();
                pieces.truncate(at);
                if !local.is_empty() {
                    pieces.push(Piece::Text(local));
                }
                domain = Some(dom);
            }
            for piece in &pieces {
                if let Piece::Text(t) = piece {
                    if let Some(c) = t
                        .chars()
                        .find(|&c| !c.is_ascii() || !LOCAL_TEXT.contains(&(c as u8)))
                    {
                        return Err(format!(
                            "pattern `{text}`: `{c}` is not allowed in a username"
                        ));
                    }
                }
            }
        }
        Ok(Pattern {
            pieces,
            kind,
            text: text.to_string(),
            domain,
        })
    }

    /// The placeholders the pattern uses, in order, without repeats.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut out = Vec::new();
        for p in &self.pieces {
            if let Piece::Value(v) = p {
                if !out.contains(v) {
                    out.push(*v);
                }
            }
        }
        out
    }

    /// The name this pattern gives for `values` (for a User Name, the part before `@`), or
    /// `None` when the values it uses are all empty.
    fn build(&self, values: &Values) -> Option<String> {
        let mut out = String::new();
        let mut any = false;
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(p) => {
                    let raw = values.get(*p);
                    match self.kind {
                        PatternKind::UserName => {
                            let folded = fold(raw);
                            let v = match p {
                                Placeholder::Initial => folded
                                    .chars()
                                    .find(char::is_ascii_alphanumeric)
                                    .map(String::from)
                                    .unwrap_or_default(),
                                _ => folded,
                            };
                            any |= !v.is_empty();
                            out.push_str(&v);
                        }
                        PatternKind::DisplayName => {
                            let v = match p {
                                Placeholder::Initial => {
                                    raw.chars().next().map(String::from).unwrap_or_default()
                                }
                                _ => raw.to_string(),
                            };
                            any |= !v.is_empty();
                            out.push_str(&v);
                        }
                    }
                }
            }
        }
        if !any {
            return None;
        }
        let out = match self.kind {
            PatternKind::UserName => tidy_local_part(&out),
            PatternKind::DisplayName => out
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .trim_matches(|c: char| c == ',' || c.is_whitespace())
                .to_string(),
        };
        (!out.is_empty()).then_some(out)
    }
}

/// A name folded to the characters a username can hold: lower-case ASCII letters, digits
/// and `-`. Letters with accents lose them (`ë` → `e`, by Unicode compatibility
/// decomposition), the letters that do not decompose are spelled out (`ß` → `ss`,
/// `æ` → `ae`, `ø` → `o`, `ł` → `l`, `đ` → `d`, `þ` → `th`, `œ` → `oe`, `ĳ` → `ij`), and
/// everything else (spaces, apostrophes, dots, other scripts) is dropped:
/// `van der Meulen` → `vandermeulen`, `O'Neill` → `oneill`.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let spelled = match c {
            'ß' | 'ẞ' => "ss",
            'æ' | 'Æ' => "ae",
            'ø' | 'Ø' => "o",
            'ł' | 'Ł' => "l",
            'đ' | 'Đ' | 'ð' | 'Ð' => "d",
            'þ' | 'Þ' => "th",
            'œ' | 'Œ' => "oe",
            'ĳ' | 'Ĳ' => "ij",
            'ı' => "i",
            'ħ' | 'Ħ' => "h",
            'ŧ' | 'Ŧ' => "t",
            'ŋ' | 'Ŋ' => "n",
            _ => {
                for d in std::iter::once(c).nfkd() {
                    if d.is_ascii_alphanumeric() {
                        out.push(d.to_ascii_lowercase());
                    } else if d == '-' && !out.is_empty() && !out.ends_with('-') {
                        out.push('-');
                    }
                }
                continue;
            }
        };
        out.push_str(spelled);
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The part before `@` with the separators that empty values leave behind taken out: no
/// `..`, nothing but a letter or digit at either end.
fn tidy_local_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '.' && (out.is_empty() || out.ends_with('.')) {
            continue;
        }
        out.push(c);
    }
    out.trim_matches(|c: char| matches!(c, '.' | '-' | '_'))
        .to_string()
}

/// One row's values for the placeholders, trimmed.
#[derive(Debug, Default)]
struct Values {
    first: String,
    last: String,
    display: String,
    employee_id: String,
}

impl Values {
    fn get(&self, p: Placeholder) -> &str {
        match p {
            Placeholder::First | Placeholder::Initial => &self.first,
            Placeholder::Last => &self.last,
            Placeholder::Display => &self.display,
            Placeholder::EmployeeId => &self.employee_id,
        }
    }
}

/// Fills in the User Names and Display Names that rows leave empty, in file order.
pub struct NameFiller {
    /// The input's own columns; a record of another width is malformed and left alone.
    input_width: usize,
    /// Columns added after the input's for generated fields (empty in the input).
    generated: usize,
    user_name: Option<(usize, Pattern)>,
    user_name_column: Option<usize>,
    display_name: Option<(usize, Pattern)>,
    first: Option<usize>,
    last: Option<usize>,
    display: Option<usize>,
    employee_id: Option<usize>,
    default_domain: Option<String>,
    /// User Names of earlier rows (typed or generated) and the line they are on.
    taken: HashMap<(u64, u32), u64>,
    scratch: csv::ByteRecord,
}

/// The Display Name pattern when the mapping file gives none.
pub const DEFAULT_DISPLAY_NAME: &str = "{first} {last}";

impl NameFiller {
    /// The filler for an input whose header `columns` resolved under `mapping`.
    /// `default_domain` is the tenant's, for typed User Names without `@`.
    pub fn new(
        mapping: &Mapping,
        columns: &Columns,
        default_domain: Option<&str>,
    ) -> Result<NameFiller> {
        let shown = mapping.path.display();
        let has = |f: Field| columns.get(f).is_some();
        let input_width = columns.width - columns.generated;
        let is_generated = |f: Field| columns.get(f).is_some_and(|c| c >= input_width);
        let user_name = match &mapping.user_name {
            Some((line, pattern)) => {
                for p in pattern.placeholders() {
                    if !has(p.field()) {
                        bail!(
                            "columns file {shown}: line {line}: the [user_name] pattern uses {{{}}}, but the input has no {} column",
                            p.name(),
                            p.field().header()
                        );
                    }
                }
                if pattern.domain.is_none() && default_domain.is_none() {
                    bail!("columns file {shown}: line {line}: the [user_name] pattern has no `@domain` and the tenant has no default_domain");
                }
                let col = columns
                    .get(Field::UserName)
                    .expect("a generated field has a column");
                Some((col, pattern.clone()))
            }
            None => None,
        };
        let display_col = columns
            .get(Field::DisplayName)
            .expect("required or generated");
        let display_name = match &mapping.display_name {
            Some((line, pattern)) => {
                for p in pattern.placeholders() {
                    if !has(p.field()) {
                        bail!(
                            "columns file {shown}: line {line}: the [display_name] pattern uses {{{}}}, but the input has no {} column",
                            p.name(),
                            p.field().header()
                        );
                    }
                }
                Some((display_col, pattern.clone()))
            }
            None if has(Field::FirstName) || has(Field::LastName) => Some((
                display_col,
                Pattern::parse(DEFAULT_DISPLAY_NAME, PatternKind::DisplayName)
                    .expect("the default pattern parses"),
            )),
            None if is_generated(Field::DisplayName) => bail!(
                "required column `Display Name` is missing, and there is no First Name or Last Name column to build it from"
            ),
            None => None,
        };
        Ok(NameFiller {
            input_width,
            generated: columns.generated,
            user_name,
            user_name_column: columns.get(Field::UserName),
            display_name,
            first: columns.get(Field::FirstName),
            last: columns.get(Field::LastName),
            display: columns.get(Field::DisplayName),
            employee_id: columns.get(Field::EmployeeId),
            default_domain: default_domain.map(str::to_lowercase),
            taken: HashMap::new(),
            scratch: csv::ByteRecord::new(),
        })
    }

    /// Gives `row` its generated columns and fills in an empty Display Name and User Name;
    /// what was generated goes into the row's warnings.
    pub fn fill(&mut self, row: &mut RawRow) {
        let width = row.record.len();
        if width > self.input_width {
            // Malformed (the rules say so): its own cells stay, counted as they are, and
            // the generated columns stay empty instead of showing a cell too many.
            self.scratch.clear();
            for (i, field) in row.record.iter().enumerate() {
                if i == self.input_width {
                    for _ in 0..self.generated {
                        self.scratch.push_field(b"");
                    }
                }
                self.scratch.push_field(field);
            }
            self.scratch.set_position(row.record.position().cloned());
            std::mem::swap(&mut row.record, &mut self.scratch);
            return;
        }
        for _ in 0..self.generated {
            row.record.push_field(b"");
        }
        if width < self.input_width {
            return; // malformed: its cells mean nothing
        }
        let cell = |record: &csv::ByteRecord, col: Option<usize>| -> String {
            col.and_then(|c| record.get(c))
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default()
        };
        let mut values = Values {
            first: cell(&row.record, self.first),
            last: cell(&row.record, self.last),
            display: cell(&row.record, self.display),
            employee_id: cell(&row.record, self.employee_id),
        };
        if let Some((col, pattern)) = &self.display_name {
            if values.display.is_empty() {
                if let Some(display) = pattern.build(&values) {
                    set_cell(&mut row.record, *col, &display, &mut self.scratch);
                    values.display = display;
                }
            }
        }
        let Some((col, pattern)) = &self.user_name else {
            return;
        };
        let typed = cell(&row.record, self.user_name_column);
        if !typed.is_empty() {
            let key = self.key(&typed);
            self.taken.entry(key).or_insert(row.line);
            return;
        }
        let Some(local) = pattern.build(&values) else {
            let used = pattern.placeholders();
            let fields: Vec<&str> = used.iter().map(|p| p.field().header()).collect();
            let why = if used.iter().all(|p| values.get(*p).is_empty()) {
                format!("{} empty", join_and(&fields))
            } else {
                format!("{} no letter or digit of A–Z 0–9", join_and_have(&fields))
            };
            row.warnings.push(format!(
                "user_name_not_generated: the pattern `{}` gives no name ({why})",
                pattern.text,
            ));
            return;
        };
        let domain = pattern
            .domain
            .as_deref()
            .or(self.default_domain.as_deref())
            .unwrap_or_default();
        let base = format!("{local}@{domain}");
        let mut name = base.clone();
        let mut first_taken = None;
        let mut n = 1u64;
        while let Some(&line) = self.taken.get(&self.key(&name)) {
            first_taken.get_or_insert(line);
            n += 1;
            name = format!("{local}{n}@{domain}");
        }
        let key = self.key(&name);
        self.taken.insert(key, row.line);
        set_cell(&mut row.record, *col, &name, &mut self.scratch);
        row.built_name = true;
        row.warnings.push(match first_taken {
            None => format!("user_name_generated: {name}"),
            Some(line) => format!("user_name_numbered: {name} ({base} is taken on line {line})"),
        });
    }

    /// The directory key of a User Name as the rules make it: the default domain added
    /// when it has no `@`, lower-cased.
    fn key(&self, name: &str) -> (u64, u32) {
        let full = match &self.default_domain {
            Some(d) if !name.contains('@') => format!("{name}@{d}"),
            _ => name.to_string(),
        };
        let d = Digest::of(&full.to_lowercase());
        (d.hi, d.lo)
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => format!("{one} is"),
        [init @ .., last] => format!("{} and {last} are", init.join(", ")),
    }
}

/// `a has`, `a and b have`.
fn join_and_have(items: &[&str]) -> String {
    match items {
        [one] => format!("{one} has"),
        _ => join_and(items).replace(" are", " have"),
    }
}

/// Replaces cell `col` of `record` (rebuilt through `scratch`, position kept).
fn set_cell(record: &mut csv::ByteRecord, col: usize, value: &str, scratch: &mut csv::ByteRecord) {
    scratch.clear();
    for (i, field) in record.iter().enumerate() {
        scratch.push_field(if i == col { value.as_bytes() } else { field });
    }
    scratch.set_position(record.position().cloned());
    std::mem::swap(record, scratch);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_names_to_username_characters() {
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("Ærøskøbing"), "aeroskobing");
        assert_eq!(fold("van der Meulen"), "vandermeulen");
        assert_eq!(fold("Weiß"), "weiss");
        assert_eq!(fold("Łukasz Wróbel"), "lukaszwrobel");
        assert_eq!(fold("Đorđe"), "dorde");
        assert_eq!(fold("Þórunn"), "thorunn");
        assert_eq!(fold("Œuvray"), "oeuvray");
        assert_eq!(fold("Åsa"), "asa");
        assert_eq!(fold("O'Neill"), "oneill");
        assert_eq!(fold("Anne-Marie"), "anne-marie");
        assert_eq!(fold(" - Smith -- Jones - "), "smith-jones");
        assert_eq!(fold("ﬁona"), "fiona");
        assert_eq!(fold("Ĳsbrand"), "ijsbrand");
        assert_eq!(fold("Петров"), "");
    }

    fn values(first: &str, last: &str) -> Values {
        Values {
            first: first.into(),
            last: last.into(),
            ..Values::default()
        }
    }

    #[test]
    fn user_name_patterns_fold_and_tidy() {
        let p = Pattern::parse("{first}.{last}@Fabrikam.nl", PatternKind::UserName).unwrap();
        assert_eq!(p.domain.as_deref(), Some("fabrikam.nl"));
        assert_eq!(
            p.build(&values("Zoë", "Ærøskøbing")).unwrap(),
            "zoe.aeroskobing"
        );
        assert_eq!(p.build(&values("", "Jansen")).unwrap(), "jansen");
        assert_eq!(p.build(&values("Jan", "")).unwrap(), "jan");
        assert_eq!(p.build(&values(" ", "")), None);
        let p = Pattern::parse("{initial}{last}", PatternKind::UserName).unwrap();
        assert_eq!(p.domain, None);
        assert_eq!(p.build(&values("Émile", "de Boer")).unwrap(), "edeboer");
    }

    #[test]
    fn display_name_patterns_keep_the_values() {
        let p = Pattern::parse("{last}, {first}", PatternKind::DisplayName).unwrap();
        assert_eq!(
            p.build(&values("Zoë", "van Dijk")).unwrap(),
            "van Dijk, Zoë"
        );
        assert_eq!(p.build(&values("", "van Dijk")).unwrap(), "van Dijk");
        let p = Pattern::parse(DEFAULT_DISPLAY_NAME, PatternKind::DisplayName).unwrap();
        assert_eq!(p.build(&values("Zoë", "")).unwrap(), "Zoë");
    }

    #[test]
    fn bad_patterns_say_why() {
        let e = |t, k| Pattern::parse(t, k).unwrap_err();
        assert!(
            e("{frist}.{last}", PatternKind::UserName).contains("unknown placeholder `{frist}`")
        );
        assert!(e("{first", PatternKind::UserName).contains("without `}`"));
        assert!(e("first}", PatternKind::UserName).contains("without `{`"));
        assert!(e("jan@contoso.com", PatternKind::UserName).contains("no placeholder"));
        assert!(e("{first}@{last}.nl", PatternKind::UserName).contains("before the `@`"));
        assert!(e("{first} {last}@x.nl", PatternKind::UserName).contains("` ` is not allowed"));
        assert!(e("{first}@x y", PatternKind::UserName).contains("not a domain name"));
        assert!(e("{display}", PatternKind::DisplayName).contains("cannot use {display}"));
    }
}
