//! Evaluates 5 typical mappings for 100,000 synthetic people.
//! Run with `cargo bench --bench expr`; SPEC budget: under 150 ms in release.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use rollcall::expr::{Expr, Record};

const PEOPLE: usize = 100_000;

const MAPPINGS: [&str; 5] = [
    "ToLower([userPrincipalName])",
    "[givenName]",
    r#"Switch([preferredLanguage], "en_US", "fr", "fr_FR", "de", "de_DE", "es", "es_ES", "it", "it_IT", "nl", "nl_NL")"#,
    r#"Join(" ", [givenName], [surname])"#,
    r#"NormalizeDiacritics(ToLower(Append(Append([givenName], "."), [surname])))"#,
];

fn people() -> Vec<HashMap<String, String>> {
    const GIVEN: [&str; 8] = ["John", "Zoë", "José", "Anna", "Łukasz", "Marie", "Søren", "Chloé"];
    const SURNAMES: [&str; 8] = ["Doe", "Müller", "Nuñez", "Smith", "Dvořák", "O'Neil", "Lefèvre", "Kim"];
    const LANGUAGES: [&str; 7] = ["fr", "de", "es", "it", "nl", "en", "pt"];
    (0..PEOPLE)
        .map(|i| {
            let given = GIVEN[i % GIVEN.len()];
            let surname = SURNAMES[(i / 8) % SURNAMES.len()];
            let mut person = HashMap::new();
            person.insert("givenName".to_string(), given.to_string());
            person.insert("surname".to_string(), surname.to_string());
            person.insert("userPrincipalName".to_string(), format!("{given}.{surname}{i}@Contoso.com"));
            person.insert("mail".to_string(), format!("user{i}@contoso.com"));
            if i % 10 != 0 {
                person.insert("preferredLanguage".to_string(), LANGUAGES[i % LANGUAGES.len()].to_string());
            }
            person
        })
        .collect()
}

fn main() {
    let mappings: Vec<Expr> =
        MAPPINGS.iter().map(|src| Expr::parse(src).unwrap_or_else(|e| panic!("{src}: {e:?}"))).collect();
    let people = people();
    let mut best = u128::MAX;
    let mut produced = 0usize;
    for _ in 0..3 {
        let start = Instant::now();
        produced = 0;
        for person in &people {
            let record: &dyn Record = person;
            for mapping in &mappings {
                if let Some(value) = black_box(mapping.eval(black_box(record))) {
                    produced += value.len();
                }
            }
        }
        best = best.min(start.elapsed().as_millis());
    }
    black_box(produced);
    println!("expr: {PEOPLE} people x {} mappings: {best} ms", mappings.len());
}
