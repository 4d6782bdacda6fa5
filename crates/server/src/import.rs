//! Bulk registration of job seekers from CSV (UTF-8, with or without BOM, or Shift_JIS/CP932).
//!
//! Idempotent: a row equal to what is stored changes nothing; a changed row updates; every
//! refused row is reported with its reasons and the good rows are imported all the same. The
//! whole file is written in one transaction, so a failure part-way leaves nothing half-written.

use mypage_domain::birth_date::BirthDate;
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use mypage_domain::text::normalize;

use crate::flows::FlowError;
use crate::state::AppState;
use crate::store::{self, audit, job_seekers, offices};

pub const HEADER: [&str; 7] =
    ["job_seeker_number", "name", "name_kana", "birth_date", "office_number", "email", "email_registered_on"];

/// Longest name or kana accepted.
const MAX_NAME: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is neither UTF-8 nor Shift_JIS text")]
    Encoding,
    #[error("the first line must be the header {}", HEADER.join(","))]
    Header,
    #[error("line {line}: {reason}")]
    Csv { line: u64, reason: String },
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        Self::Flow(FlowError::from(e))
    }
}

impl From<store::StoreError> for ImportError {
    fn from(e: store::StoreError) -> Self {
        Self::Flow(FlowError::Store(e))
    }
}

/// Why a row was refused. `key()` names its catalog message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowProblem {
    WrongColumnCount,
    BadJobSeekerNumber,
    MissingName,
    NameTooLong,
    MissingKana,
    BadBirthDate,
    UnknownOffice,
    /// A counter clerk imported a row of another office.
    OtherOffice,
    BadEmail,
    BadEmailRegisteredOn,
}

impl RowProblem {
    pub fn key(self) -> &'static str {
        match self {
            Self::WrongColumnCount => "import.problem.wrong_column_count",
            Self::BadJobSeekerNumber => "import.problem.bad_job_seeker_number",
            Self::MissingName => "import.problem.missing_name",
            Self::NameTooLong => "import.problem.name_too_long",
            Self::MissingKana => "import.problem.missing_kana",
            Self::BadBirthDate => "import.problem.bad_birth_date",
            Self::UnknownOffice => "import.problem.unknown_office",
            Self::OtherOffice => "import.problem.other_office",
            Self::BadEmail => "import.problem.bad_email",
            Self::BadEmailRegisteredOn => "import.problem.bad_email_registered_on",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Added,
    Updated,
    Unchanged,
    Refused(Vec<RowProblem>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowReport {
    /// Line in the file (the header is line 1).
    pub line: u64,
    pub number: String,
    pub outcome: RowOutcome,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub rows: Vec<RowReport>,
}

impl ImportReport {
    pub fn count(&self, pred: impl Fn(&RowOutcome) -> bool) -> usize {
        self.rows.iter().filter(|r| pred(&r.outcome)).count()
    }
}

/// UTF-8 (a BOM is dropped) when the bytes are valid UTF-8, else Shift_JIS (CP932).
pub fn decode(bytes: &[u8]) -> Result<String, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    if had_errors { Err(ImportError::Encoding) } else { Ok(text.into_owned()) }
}

/// One data row of the file, read and checked without the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// The 求職番号 as reported: canonical when it parses, else as written (trimmed).
    pub number: String,
    /// `None` when the row has the wrong number of columns.
    pub fields: Option<RowFields>,
}

/// A row's fields, each parsed; the office number is looked up later, in the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFields {
    pub number: Option<JobSeekerNumber>,
    pub name: String,
    pub name_kana: String,
    pub birth_date: Option<BirthDate>,
    pub office_number: String,
    /// `Ok(None)` when the column is empty.
    pub email: Result<Option<Email>, RowProblem>,
    /// ISO date, `Ok(None)` when the column is empty.
    pub email_registered_on: Result<Option<String>, RowProblem>,
    /// Problems with the name and kana, in column order.
    name_problems: Vec<RowProblem>,
}

impl RowFields {
    /// Every problem of the row, in column order, given whether its office exists.
    pub fn problems(&self, office_known: bool) -> Vec<RowProblem> {
        let mut problems = Vec::new();
        if self.number.is_none() {
            problems.push(RowProblem::BadJobSeekerNumber);
        }
        problems.extend(&self.name_problems);
        if self.birth_date.is_none() {
            problems.push(RowProblem::BadBirthDate);
        }
        if !office_known {
            problems.push(RowProblem::UnknownOffice);
        }
        problems.extend(self.email.as_ref().err());
        problems.extend(self.email_registered_on.as_ref().err());
        problems
    }

    fn into_new(self, office_id: Option<i64>) -> Result<job_seekers::NewJobSeeker, Vec<RowProblem>> {
        let problems = self.problems(office_id.is_some());
        match (self.number, self.birth_date, office_id, self.email, self.email_registered_on) {
            (Some(number), Some(birth_date), Some(office_id), Ok(email), Ok(registered_on)) if problems.is_empty() => {
                Ok(job_seekers::NewJobSeeker {
                    number: number.as_str().to_owned(),
                    name: self.name,
                    name_kana: self.name_kana,
                    birth_date: birth_date.to_iso(),
                    office_id,
                    email: email.map(|e| e.as_str().to_owned()),
                    email_registered_on: registered_on,
                    registered_on: None,
                    valid_until: None,
                })
            }
            _ => Err(problems),
        }
    }
}

/// Decodes the file and reads every row, checking all that can be checked without the
/// database. Bad encoding, a wrong header or unreadable CSV refuse the whole file.
pub fn read(bytes: &[u8]) -> Result<Vec<Row>, ImportError> {
    // The CSV reader ends a record at a lone CR too but counts lines by LF only, so a file saved
    // with CR line ends (older Mac Excel) would report every row as line 1.
    let text = decode(bytes)?.replace("\r\n", "\n").replace('\r', "\n");
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| ImportError::Csv { line: 1, reason: e.to_string() })?;
    if header.iter().map(str::trim).ne(HEADER) {
        return Err(ImportError::Header);
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record
            .map_err(|e| ImportError::Csv { line: e.position().map_or(0, |p| p.line()), reason: e.to_string() })?;
        let line = record.position().map_or(0, |p| p.line());
        let number_raw = record.get(0).unwrap_or_default().trim().to_owned();
        let number = JobSeekerNumber::parse(&number_raw).map(|n| n.as_str().to_owned()).unwrap_or(number_raw);
        let fields = (record.len() == HEADER.len()).then(|| parse_fields(&record));
        rows.push(Row { line, number, fields });
    }
    Ok(rows)
}

fn parse_fields(record: &csv::StringRecord) -> RowFields {
    let field = |i: usize| normalize(record.get(i).unwrap_or_default());
    let mut name_problems = Vec::new();
    let name = field(1);
    if name.is_empty() {
        name_problems.push(RowProblem::MissingName);
    } else if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        name_problems.push(RowProblem::NameTooLong);
    }
    let name_kana = field(2);
    if name_kana.is_empty() {
        name_problems.push(RowProblem::MissingKana);
    } else if name_kana.chars().count() > MAX_NAME || name_kana.chars().any(char::is_control) {
        name_problems.push(RowProblem::NameTooLong);
    }
    let email = match field(5) {
        e if e.is_empty() => Ok(None),
        e => Email::parse(&e).map(Some).map_err(|_| RowProblem::BadEmail),
    };
    let email_registered_on = match field(6) {
        d if d.is_empty() => Ok(None),
        d => d.parse::<jiff::civil::Date>().map(|d| Some(d.to_string())).map_err(|_| RowProblem::BadEmailRegisteredOn),
    };
    RowFields {
        number: JobSeekerNumber::parse(&field(0)).ok(),
        name,
        name_kana,
        birth_date: BirthDate::from_iso(&field(3)).ok(),
        office_number: field(4),
        email,
        email_registered_on,
        name_problems,
    }
}

/// Imports the file's rows. `actor` is recorded in the audit log; with `office_scope`, rows of
/// other offices (new or existing) are refused.
pub async fn import(
    state: &AppState,
    bytes: &[u8],
    actor: &str,
    office_scope: Option<i64>,
) -> Result<ImportReport, ImportError> {
    let rows = read(bytes)?;
    let now = store::ms(state.now());
    let mut report = ImportReport::default();
    let mut tx = state.store.begin_write().await?;
    for Row { line, number, fields } in rows {
        let checked = match fields {
            None => Err(vec![RowProblem::WrongColumnCount]),
            Some(fields) => {
                let office = offices::find_by_number(&mut *tx, &fields.office_number).await?;
                fields.into_new(office.map(|o| o.id))
            }
        };
        let outcome = match checked {
            Err(problems) => RowOutcome::Refused(problems),
            Ok(new) if office_scope.is_some_and(|o| o != new.office_id) => {
                RowOutcome::Refused(vec![RowProblem::OtherOffice])
            }
            Ok(new) => match job_seekers::find_by_number(&mut *tx, &new.number).await? {
                Some(old) if office_scope.is_some_and(|o| o != old.office_id) => {
                    RowOutcome::Refused(vec![RowProblem::OtherOffice])
                }
                None => {
                    job_seekers::insert(&mut *tx, &new, now).await?;
                    RowOutcome::Added
                }
                Some(old) if same(&old, &new) => RowOutcome::Unchanged,
                Some(old) => {
                    job_seekers::update(&mut *tx, old.id, &new, now).await?;
                    RowOutcome::Updated
                }
            },
        };
        report.rows.push(RowReport { line, number, outcome });
    }
    let detail = format!(
        "import: {} added, {} updated, {} unchanged, {} refused",
        report.count(|o| *o == RowOutcome::Added),
        report.count(|o| *o == RowOutcome::Updated),
        report.count(|o| *o == RowOutcome::Unchanged),
        report.count(|o| matches!(o, RowOutcome::Refused(_))),
    );
    let event =
        audit::Event { actor, kind: "job_seekers.imported", job_seeker_id: None, detail: &detail, client_addr: None };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(report)
}

fn same(old: &job_seekers::JobSeekerRow, new: &job_seekers::NewJobSeeker) -> bool {
    old.name == new.name
        && old.name_kana == new.name_kana
        && old.birth_date == new.birth_date
        && old.office_id == new.office_id
        && old.email == new.email
        && old.email_registered_on == new.email_registered_on
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_with_bom_and_shift_jis() {
        assert_eq!(decode("\u{feff}求職".as_bytes()).unwrap(), "求職");
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("釧路 太郎,クシロ タロウ");
        assert_eq!(decode(&sjis).unwrap(), "釧路 太郎,クシロ タロウ");
        assert!(matches!(decode(&[0x82, 0xff, 0xff]), Err(ImportError::Encoding)));
    }

    #[test]
    fn rows_report_their_own_line_whatever_the_line_ends() {
        let header = HEADER.join(",");
        let row = "60049-1,釧路 太郎,クシロ タロウ,1990-04-15,01010,,";
        for end in ["\n", "\r\n", "\r"] {
            let file = format!("{header}{end}{row}{end}{row}{end}");
            let lines: Vec<u64> = read(file.as_bytes()).unwrap().iter().map(|r| r.line).collect();
            assert_eq!(lines, [2, 3], "line ends {end:?}");
        }
        // Found by the csv_import fuzz target: a lone CR inside a row started a second row on
        // the same line number.
        let file = format!("{header}\n60049-1,a,b,1990-04-15,01010,x\r,\n{row}\n");
        let lines: Vec<u64> = read(file.as_bytes()).unwrap().iter().map(|r| r.line).collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
    }
}
