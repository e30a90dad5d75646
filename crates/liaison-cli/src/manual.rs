//! What the binary says about itself, generated from its own definition: shell
//! completions (clap_complete) and man pages (clap_mangen), so they never drift from
//! the flags.

use anyhow::Context;
use clap::Command;
use std::path::Path;

/// Writes the completion script for `shell` to standard output.
pub fn completions(mut cmd: Command, shell: clap_complete::Shell) -> anyhow::Result<()> {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
    Ok(())
}

/// Writes `liaison.1` to standard output, or with `out`, one page per command into
/// that folder: `liaison.1`, `liaison-msg.1`, `liaison-msg-send.1`, …
pub fn man(mut cmd: Command, out: Option<&Path>) -> anyhow::Result<()> {
    cmd.build();
    let Some(dir) = out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page)?;
        std::io::Write::write_all(&mut std::io::stdout(), &page)?;
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = 0;
    write_pages(&cmd, cmd.get_name(), dir, &mut written)?;
    println!("{written} man pages written to {}", dir.display());
    Ok(())
}

/// The page of `cmd`, named `name`, and those of its subcommands below it.
fn write_pages(cmd: &Command, name: &str, dir: &Path, written: &mut usize) -> anyhow::Result<()> {
    let page_cmd = cmd.clone().name(name.to_string());
    let mut page = Vec::new();
    clap_mangen::Man::new(page_cmd).render(&mut page)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    *written += 1;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
