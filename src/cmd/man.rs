//! `onboard man`: one manual page (roff) for the program and all its commands, built from
//! the same clap definition as `--help`, so the two never disagree.
//!
//! clap_mangen renders a page per command; `man onboard` is more useful as one page, so
//! each command's synopsis and options are rendered by clap_mangen and placed under a
//! `.SS` of a COMMANDS section, followed by the command's examples as preformatted text.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::cli::{Cli, ManArgs};
use crate::write::file::{self, Target};

pub fn run(args: ManArgs) -> Result<u8> {
    let page = render()?;
    match &args.output {
        Some(path) => {
            crate::interrupt::install();
            // A manual page is for everyone to read: 0644.
            let target = Target {
                path: path.clone(),
                what: "manual page",
                option: "-o",
                force: args.force,
                private: false,
            };
            file::check(&[&target], &[])?;
            file::write(&target, |out| Ok(out.write_all(&page)?))?;
        }
        None => super::ignore_broken_pipe(
            std::io::stdout()
                .lock()
                .write_all(&page)
                .map_err(Into::into),
        )?,
    }
    Ok(crate::exit::OK)
}

/// The whole page as roff source.
pub fn render() -> Result<Vec<u8>> {
    // Unbuilt, so a subcommand's arguments are its own and not also the global ones,
    // which the page lists once under OPTIONS.
    let root = Cli::command();
    let version = root.get_version().unwrap_or_default().to_string();
    let man = Man::new(root.clone());
    // Our own .TH: clap_mangen's drops the empty date argument, which shifts the source
    // into the date's place in the page footer.
    let mut page = Roff::new().render().into_bytes();
    writeln!(
        page,
        ".TH ONBOARD 1 \"\" \"onboard {version}\" \"User Commands\""
    )?;
    page.extend(without_preamble(section(|w| man.render_name_section(w))?));
    page.extend(without_preamble(section(|w| {
        man.render_synopsis_section(w)
    })?));
    page.extend(without_preamble(section(|w| {
        man.render_description_section(w)
    })?));
    page.extend(without_preamble(section(|w| {
        man.render_options_section(w)
    })?));

    let mut commands = Roff::new();
    commands.control("SH", ["COMMANDS"]);
    page.extend(own(&commands));
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("onboard {}", sub.get_name());
        let sub_man = Man::new(sub.clone().bin_name(&name).display_name(&name));
        let mut head = Roff::new();
        head.control("SS", [name.as_str()]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            head.text([roman(about.to_string())]);
        }
        head.control("PP", []);
        page.extend(own(&head));
        page.extend(without_heading(section(|w| {
            sub_man.render_synopsis_section(w)
        })?));
        page.extend(without_heading(section(|w| {
            sub_man.render_options_section(w)
        })?));
        if let Some(help) = sub.get_after_help() {
            page.extend(own(&examples(&help.to_string())));
        }
    }

    let mut tail = Roff::new();
    tail.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        tail.control("TP", []);
        tail.text([bold(code)]);
        tail.text([roman(meaning)]);
    }
    tail.control("SH", ["FILES"]);
    for (file, meaning) in FILES {
        tail.control("TP", []);
        tail.text([bold(file)]);
        tail.text([roman(meaning)]);
    }
    tail.control("SH", ["EXAMPLES"]);
    if let Some(help) = root.get_after_help() {
        tail.extend([example_lines(&help.to_string())]);
    }
    page.extend(own(&tail));
    let mut version_section = Roff::new();
    version_section.control("SH", ["VERSION"]);
    version_section.text([roman(format!("onboard {version}"))]);
    page.extend(own(&version_section));
    Ok(page)
}

const EXIT_STATUS: [(&str, &str); 4] = [
    (
        "0",
        "Every row created, updated, unchanged or skipped (warnings allowed).",
    ),
    (
        "1",
        "The run finished and committed; some rows failed (see the result file's Errors).",
    ),
    (
        "2",
        "Fatal: bad arguments, unreadable input or tenant, bad header, result file exists, \
         directory busy. Nothing was written.",
    ),
    (
        "3",
        "More rows failed than --max-failed allows. Nothing was committed and no result \
         file was written.",
    ),
];

const FILES: [(&str, &str); 3] = [
    (
        "tenant.toml",
        "The tenant: verified domains, licences with their seats, password policy (--tenant).",
    ),
    (
        "onboard.db",
        "The directory (SQLite): users, licences, roles and the import history (--directory).",
    ),
    (
        "STEM.results.csv",
        "An import's result file, one row per input record, with generated passwords \
         (mode 0600).",
    ),
];

/// Runs one of clap_mangen's section renderers into a buffer.
fn section(render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    render(&mut out)?;
    Ok(out)
}

/// Drops the apostrophe preamble that every roff render starts with; the page has it
/// once, from the title.
fn without_preamble(roff: Vec<u8>) -> Vec<u8> {
    let preamble = Roff::new().render();
    match roff.strip_prefix(preamble.as_bytes()) {
        Some(rest) => rest.to_vec(),
        None => roff,
    }
}

/// Our own roff, with apostrophes typeset as apostrophes (they are quotes in the
/// examples' shell commands), without the preamble.
fn own(roff: &Roff) -> Vec<u8> {
    without_preamble(roff.render().into_bytes())
}

/// Drops the preamble and the section's own `.SH` line: a command's synopsis and options
/// go under its `.SS` instead.
fn without_heading(roff: Vec<u8>) -> Vec<u8> {
    let rest = without_preamble(roff);
    let text = String::from_utf8_lossy(&rest);
    let start = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut out = b".PP\n".to_vec();
    out.extend(text[start..].as_bytes());
    out
}

/// A command's "Examples:" block as a paragraph and preformatted lines.
fn examples(after_help: &str) -> Roff {
    let mut roff = Roff::new();
    roff.control("PP", []);
    roff.text([bold("Examples:")]);
    roff.extend([example_lines(after_help)]);
    roff
}

/// The lines under "Examples:", preformatted and indented.
fn example_lines(after_help: &str) -> Roff {
    let mut roff = Roff::new();
    roff.control("RS", []);
    roff.control("nf", []);
    let lines = after_help
        .lines()
        .skip_while(|l| l.trim_end() != "Examples:")
        .skip(1);
    for line in lines {
        roff.text([roman(line.strip_prefix("  ").unwrap_or(line))]);
    }
    roff.control("fi", []);
    roff.control("RE", []);
    roff
}
