//! The `mypage` binary's commands, as operators and scripts use them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mypage-cli-{}", mypage::tokens::random_token().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mypage(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mypage"))
        .args(args)
        .env("MYPAGE_DATABASE_URL", format!("sqlite://{}", dir.join("db.sqlite").display()))
        .env("MYPAGE_DATA_DIR", dir)
        .env("MYPAGE_MAIL", format!("file:{}", dir.join("mail").display()))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CSV: &str = "job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n\
60049-58004503,釧路 太郎,クシロ タロウ,1990-04-15,01010,taro@example.jp,2026-03-01\n\
27520-1391873,根室 花子,ネムロ ハナコ,1985-01-02,01010,,\n\
1234-567890-1,誤り,ゴ,1985-01-02,01010,,\n\
27520-7,名前,,1985-13-02,99999,bad@,\n";

#[test]
fn offices_import_and_code_issue_work_and_import_is_idempotent() {
    let dir = temp_dir();
    let migrate = mypage(&dir, &["migrate"]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    let added =
        mypage(&dir, &["offices", "add", "--number", "01010", "--name", "ハローワーク釧路", "--notice", "Free WiFi"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let again = mypage(&dir, &["offices", "add", "--number", "01010", "--name", "ハローワーク釧路"]);
    assert!(!again.status.success());
    assert_eq!(stderr(&again).lines().count(), 1, "{}", stderr(&again));
    assert!(stderr(&again).contains("already exists"));

    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(CSV);
    std::fs::write(dir.join("seekers.csv"), &sjis).unwrap();
    let first = mypage(&dir, &["seekers", "import", dir.join("seekers.csv").to_str().unwrap()]);
    assert!(first.status.success(), "{}", stderr(&first));
    let report = stdout(&first);
    assert!(report.contains("added 2, updated 0, unchanged 0, refused 2"), "{report}");
    assert!(report.contains("line 4\t1234-567890-1\t取込不可: 求職番号の形式が正しくありません"), "{report}");
    assert!(report.contains("フリガナがありません"), "{report}");
    assert!(report.contains("生年月日が正しくありません"), "{report}");
    assert!(report.contains("安定所番号が登録されていません"), "{report}");
    assert!(report.contains("メールアドレスの形式が正しくありません"), "{report}");

    std::fs::write(dir.join("seekers-utf8.csv"), format!("\u{feff}{CSV}")).unwrap();
    let second = mypage(&dir, &["seekers", "import", dir.join("seekers-utf8.csv").to_str().unwrap()]);
    assert!(stdout(&second).contains("added 0, updated 0, unchanged 2, refused 2"), "{}", stdout(&second));

    let code = mypage(&dir, &["code", "issue", "６００４９－５８００４５０３", "--json"]);
    assert!(code.status.success(), "{}", stderr(&code));
    let json: serde_json::Value = serde_json::from_str(&stdout(&code)).unwrap();
    let code_text = json["code"].as_str().unwrap();
    assert_eq!(code_text.len(), 10);
    assert!(code_text.bytes().all(|b| mypage_domain::account_code::ALPHABET.contains(&b)));
    let expires: jiff::Timestamp = json["expires_at"].as_str().unwrap().parse().unwrap();
    let days = jiff::Timestamp::now().duration_until(expires).as_secs_f64() / 86400.0;
    assert!((4.99..=5.0).contains(&days), "{days}");

    let human = mypage(&dir, &["code", "issue", "27520-1391873"]);
    assert!(stdout(&human).contains("まで有効"), "{}", stdout(&human));
    let unknown = mypage(&dir, &["code", "issue", "99999-1"]);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("no job seeker"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_variable() {
    let dir = temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_mypage"))
        .arg("migrate")
        .env("MYPAGE_CODE_TTL", "five days")
        .env("MYPAGE_DATABASE_URL", format!("sqlite://{}", dir.join("db.sqlite").display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("mypage: MYPAGE_CODE_TTL:"), "{err}");
    assert_eq!(err.lines().count(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_command_with_another_secret_than_the_database_was_first_used_with_refuses_to_run() {
    let dir = temp_dir();
    let with_secret = |secret: Option<&str>, number: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mypage"));
        command
            .args(["offices", "add", "--number", number, "--name", "ハローワーク釧路"])
            .env("MYPAGE_DATABASE_URL", format!("sqlite://{}", dir.join("db.sqlite").display()))
            .env("MYPAGE_DATA_DIR", dir.join("data"))
            .env("MYPAGE_MAIL", format!("file:{}", dir.join("mail").display()))
            .env_remove("MYPAGE_SECRET");
        if let Some(secret) = secret {
            command.env("MYPAGE_SECRET", secret);
        }
        command.output().unwrap()
    };
    let first = with_secret(Some("the-first-secret-that-is-long-enough-0001"), "01010");
    assert!(first.status.success(), "{}", stderr(&first));
    let same = with_secret(Some("the-first-secret-that-is-long-enough-0001"), "01011");
    assert!(same.status.success(), "{}", stderr(&same));
    for other in [Some("a-second-secret-that-is-long-enough-0002"), None] {
        let refused = with_secret(other, "01012");
        assert!(!refused.status.success());
        let reason = stderr(&refused);
        assert_eq!(reason.lines().count(), 1, "{reason}");
        assert!(reason.contains("MYPAGE_SECRET"), "{reason}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
