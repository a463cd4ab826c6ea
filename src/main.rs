//! The `onboard` binary: parse the command line, set up logging, run, map to an exit code.

use std::process::ExitCode;

use onboard::logging::LogFormat;

fn main() -> ExitCode {
    let cli = onboard::cli::parse();
    onboard::logging::init(cli.global.quiet, cli.global.verbose, cli.global.log_format);
    let log_format = cli.global.log_format;
    match onboard::cmd::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e)
            if e.downcast_ref::<onboard::interrupt::Interrupted>()
                .is_some() =>
        {
            eprintln!("onboard: {e}");
            ExitCode::from(onboard::interrupt::EXIT_CODE)
        }
        Err(e) => {
            let message = format!("{e:#}");
            match log_format {
                LogFormat::Text => eprintln!("onboard: error: {message}"),
                LogFormat::Json => {
                    let fields = [("exit_code", onboard::exit::FATAL)];
                    let fields: std::collections::BTreeMap<_, _> = fields.into();
                    eprintln!(
                        "{}",
                        onboard::logging::json_line("ERROR", &message, &fields, None)
                    );
                }
            }
            ExitCode::from(onboard::exit::FATAL)
        }
    }
}
