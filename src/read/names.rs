//! User Names and Display Names that the input leaves out, built from a `--columns`
//! pattern ([`crate::read::mapping`]) before the row rules see the row.
//!
//! A User Name is made of the row's names folded to what a username may hold (`Zoë
//! Ærøskøbing` → `zoe.aeroskobing`); one that an earlier row of the file already has gets
//! a number (`jan.jansen2@…`). Numbering needs file order, so this runs on the reader's
//! side, one row after the other, and the rules then check the name like a typed one.

use std::collections::HashMap;

use crate::read::mapping::Mapping;
use crate::read::pattern::{Pattern, PatternKind, Values, DEFAULT_DISPLAY_NAME};
use crate::row::{Columns, Digest, Field, RawRow};
use anyhow::{bail, Result};

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
