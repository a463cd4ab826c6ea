//! Workbooks written part by part as zip packages, for cases a spreadsheet writer will not
//! produce: parts that inflate to hundreds of megabytes, cells past Excel's limits, sheet
//! names with control characters.

use std::fs::File;
use std::io::Write;

use zip::write::SimpleFileOptions;

use crate::workdir::Workdir;

/// Writes a part's bytes.
pub type Writes<'a> = Box<dyn FnOnce(&mut dyn Write) + 'a>;

/// A part of a package: its name and a writer of its bytes.
pub type Part<'a> = (&'a str, Writes<'a>);

/// Writes a zip package of `parts`, deflated at the fastest level.
pub fn package(wd: &Workdir, name: &str, parts: Vec<Part<'_>>) {
    let mut zip = zip::ZipWriter::new(File::create(wd.path(name)).unwrap());
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (part, write) in parts {
        zip.start_file(part, options).unwrap();
        write(&mut zip);
    }
    zip.finish().unwrap();
}

/// The parts every `.xlsx` has, for a workbook of one sheet named `sheet` (its cells in
/// `xl/worksheets/sheet1.xml`, its shared strings, if any, in `xl/sharedStrings.xml`).
pub fn workbook_parts<'a>(sheet: &str) -> Vec<Part<'a>> {
    let text = |t: String| -> Writes<'a> {
        Box::new(move |w: &mut dyn Write| w.write_all(t.as_bytes()).unwrap())
    };
    // The sheet's name as XML text: `&`, `<` and `"` escaped; anything else as it is.
    let sheet = sheet
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    vec![
        (
            "[Content_Types].xml",
            text(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#.to_string()),
        ),
        (
            "_rels/.rels",
            text(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string()),
        ),
        (
            "xl/workbook.xml",
            text(format!(
r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>"#
)),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            text(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#.to_string()),
        ),
    ]
}

pub const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
pub const SHEET_END: &str = "</sheetData></worksheet>";

/// A cell of inline text.
pub fn cell(at: &str, text: &str) -> String {
    format!(r#"<c r="{at}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}
