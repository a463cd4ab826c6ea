//! `onboard users`: the directory as CSV, with the input's own headers so the file can be
//! edited and imported again (`--on-existing update`). Never holds a password.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{GlobalArgs, UsersArgs};
use crate::row::{Field, PROFILE_FIELDS};
use crate::store::users::Listing;
use crate::store::{Access, Directory};
use crate::write::file::{self, Kept, Target};
use crate::write::result::defuse;

pub fn run(global: &GlobalArgs, args: UsersArgs) -> Result<u8> {
    let dir = Directory::open(&global.directory, Access::Read, Duration::from_secs(10))?;
    let which = if args.deleted {
        Listing::Deleted
    } else if args.unlicensed {
        Listing::Unlicensed
    } else {
        Listing::Active
    };
    match &args.output {
        Some(path) => {
            crate::interrupt::install();
            let target = Target {
                path: path.clone(),
                what: "output file",
                option: "-o",
                force: args.force,
                private: true,
            };
            let mut kept = Kept::directory(&global.directory);
            kept.push(Kept::new(&global.tenant, "the tenant file"));
            file::check(&[&target], &kept)?;
            file::write(&target, |out| write(out, dir.as_ref(), which))?;
        }
        None => super::ignore_broken_pipe(write(std::io::stdout().lock(), dir.as_ref(), which))?,
    }
    Ok(crate::exit::OK)
}

fn write(out: impl Write, dir: Option<&Directory>, which: Listing) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let mut header = vec![Field::UserName.header()];
    header.extend(PROFILE_FIELDS.iter().map(|f| f.header()));
    header.extend(
        [
            Field::UsageLocation,
            Field::Licenses,
            Field::DisabledApps,
            Field::Roles,
            Field::BlockSignIn,
        ]
        .map(Field::header),
    );
    header.push(OBJECT_ID);
    match which {
        Listing::Active => {}
        Listing::Deleted => header.push("Deleted At"),
        Listing::Unlicensed => header.push("Unlicensed Days"),
    }
    w.write_record(&header)?;
    let now = std::time::SystemTime::now();
    if let Some(dir) = dir {
        dir.for_each_user(which, |u| {
            let mut apps: Vec<&str> = u.disabled_apps.iter().map(|(_, a)| a.as_str()).collect();
            apps.dedup();
            let mut record: Vec<String> = vec![defuse(&u.user_name).into_owned()];
            record.extend(u.profile.iter().map(|v| defuse(v).into_owned()));
            record.push(u.usage_location.clone().unwrap_or_default());
            record.push(u.licenses.join("+"));
            record.push(apps.join("+"));
            record.push(u.roles.join("+"));
            record.push(if u.block_sign_in { "Yes" } else { "No" }.to_string());
            record.push(u.object_id.clone());
            match which {
                Listing::Active => {}
                Listing::Deleted => record.push(u.deleted_at.clone().unwrap_or_default()),
                Listing::Unlicensed => record.push(
                    days_since(u.unlicensed_since.as_deref(), now)
                        .map_or_else(String::new, |d| d.to_string()),
                ),
            }
            w.write_record(&record)?;
            Ok(())
        })?;
    }
    w.flush()?;
    Ok(())
}

/// The header of the Object ID column; an import reads it back as nothing (Object IDs
/// are the directory's to give).
pub const OBJECT_ID: &str = "Object ID";

/// Whole days from the RFC 3339 time `since` to `now`.
pub fn days_since(since: Option<&str>, now: std::time::SystemTime) -> Option<u64> {
    let since = humantime::parse_rfc3339(since?).ok()?;
    Some(now.duration_since(since).ok()?.as_secs() / 86_400)
}
