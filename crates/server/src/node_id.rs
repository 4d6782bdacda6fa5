//! This node's identity, kept in `node.id` in its data folder so that it survives a restart: its
//! mail claims carry it, and a restarted node gives back the claims its killed process held
//! instead of letting them block those mails until the claims lapse.

use std::io::Write as _;
use std::path::Path;

/// Reads the identity from `data_dir/node.id`, creating it on first start. Always lower-case hex.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("node.id");
    match std::fs::read_to_string(&path) {
        Ok(text) if is_node_id(text.trim()) => return Ok(text.trim().to_owned()),
        Ok(_) => {
            anyhow::bail!("{} is not a node identity (16 hex digits); delete it to make a new one", path.display())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    crate::private_fs::create_dir(data_dir)?;
    let id: String = crate::tokens::random_token()?.bytes().take(8).map(|b| format!("{b:02x}")).collect();
    match crate::private_fs::file_options().write(true).create_new(true).open(&path) {
        Ok(mut file) => {
            file.write_all(id.as_bytes())?;
            file.sync_all()?;
            Ok(id)
        }
        // Another process on the same folder wrote it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(data_dir),
        Err(e) => anyhow::bail!("cannot write {}: {e}", path.display()),
    }
}

fn is_node_id(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_survives_a_restart_and_is_hex() {
        let dir = std::env::temp_dir().join(format!("mypage-node-{}", crate::tokens::random_token().unwrap()));
        let first = load_or_create(&dir).unwrap();
        assert!(is_node_id(&first), "{first}");
        assert_eq!(load_or_create(&dir).unwrap(), first);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
