//! The recipient as the mail server must see it. Addresses whose local part breaks RFC 5321's
//! dot rules (`taro.@docomo.ne.jp`, which carriers handed out) are accepted at sign-up; lettre
//! refuses them as they are, but accepts the same local part as an RFC 5321 quoted string,
//! which is what goes on the envelope (`RCPT TO:<"taro."@docomo.ne.jp>`) and in the To header.

use lettre::Address;
use lettre::address::Envelope;
use lettre::message::Mailbox;
use mypage_domain::email::Email;

/// The envelope and header address of a stored recipient (a parsed [`Email`]'s text).
pub fn recipient(to: &str) -> Result<Mailbox, String> {
    let email = Email::parse(to).map_err(|e| format!("bad recipient {to:?}: {e}"))?;
    let user = if email.is_dot_atom() {
        email.local_part().to_owned()
    } else {
        // A dot-atom's characters need no escaping inside quotes (`"` and `\` are not atext).
        format!("\"{}\"", email.local_part())
    };
    let address = Address::new(user, email.domain()).map_err(|e| format!("bad recipient {to:?}: {e}"))?;
    Ok(Mailbox::new(None, address))
}

/// The SMTP envelope, given explicitly: lettre derives one from the headers by parsing them
/// again, and that parse drops a quoted local part.
pub fn envelope(from: &Mailbox, to: &Mailbox) -> Result<Envelope, String> {
    Envelope::new(Some(from.email.clone()), vec![to.email.clone()]).map_err(|e| format!("bad envelope: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_atoms_stay_as_they_are() {
        assert_eq!(recipient("taro.yamada@docomo.ne.jp").unwrap().email.to_string(), "taro.yamada@docomo.ne.jp");
    }

    #[test]
    fn local_parts_that_break_the_dot_rules_are_quoted() {
        for (to, quoted) in [
            ("taro.@docomo.ne.jp", "\"taro.\"@docomo.ne.jp"),
            ("ta..ro@ezweb.ne.jp", "\"ta..ro\"@ezweb.ne.jp"),
            (".taro@i.softbank.jp", "\".taro\"@i.softbank.jp"),
        ] {
            let mailbox = recipient(to).unwrap();
            assert_eq!(mailbox.email.to_string(), quoted);
            assert_eq!(mailbox.to_string(), quoted);
        }
    }

    #[test]
    fn a_message_to_a_quoted_local_part_has_it_on_the_envelope_and_in_the_to_header() {
        let from: Mailbox = "MyPage <no-reply@mypage.example.jp>".parse().unwrap();
        let to = recipient("taro.@docomo.ne.jp").unwrap();
        let message = lettre::Message::builder()
            .envelope(envelope(&from, &to).unwrap())
            .from(from)
            .to(to)
            .subject("x")
            .body(String::from("y"))
            .unwrap();
        assert_eq!(message.envelope().to()[0].to_string(), "\"taro.\"@docomo.ne.jp");
        assert!(String::from_utf8_lossy(&message.formatted()).contains("To: \"taro.\"@docomo.ne.jp\r\n"));
    }

    #[test]
    fn other_malformed_addresses_are_refused() {
        assert!(recipient("taro@@example.jp").is_err());
        assert!(recipient("\"taro\"@example.jp").is_err());
    }
}
