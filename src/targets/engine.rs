//! The write engine the GoTo and SCIM targets share: the book of an apply's outcomes (told
//! to the sink as they settle, with interrupts, a refusing audit log and progress handled
//! here once), one bounded-concurrency runner, and one paging-with-restart listing.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use super::http::{Http, HttpError};
use super::{ApplySink, Outcome, interrupted, not_logged};
use crate::diag::{Code, Problem};
use crate::live::Key;
use crate::progress::Progress;

/// What a target talks HTTP with: the runtime its requests run on, and the client, at
/// `requests_per_second`.
pub fn connect(requests_per_second: f64) -> Result<(tokio::runtime::Runtime, Http), Problem> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Problem::new(Code::Target, format!("cannot start the HTTP runtime: {e}")))?;
    let http = Http::new(requests_per_second).map_err(|e| Problem::new(Code::Target, e))?;
    Ok((rt, http))
}

/// A write that failed with `e`.
pub fn failed(e: &HttpError) -> Outcome {
    Outcome::Failed { message: e.to_string(), status: e.status, incident: e.incident.clone() }
}

/// The outcomes of one apply as they settle, told to the sink as they happen.
pub struct Ledger<'s> {
    sink: &'s mut dyn ApplySink,
    outcomes: Vec<Option<Outcome>>,
    /// The sink refused a write (the audit log cannot be written): nothing more starts.
    refused: bool,
    /// Ticked once per action, when it first settles.
    progress: Option<Progress>,
}

impl<'s> Ledger<'s> {
    /// The book of `actions` actions; with `progress`, a bar (or plain lines) on stderr.
    pub fn new(sink: &'s mut dyn ApplySink, actions: usize, progress: bool) -> Self {
        let progress = progress.then(|| Progress::new("applying", actions as u64));
        Ledger { sink, outcomes: vec![None; actions], refused: false, progress }
    }

    /// Whether new writes must not start: interrupted, or the audit log refused one.
    pub fn stopped(&self) -> bool {
        self.refused || interrupted()
    }

    /// Whether action `i` may start now; if not, it is settled skipped (why: interrupted, or
    /// the audit log refused an earlier write).
    pub fn may_start(&mut self, i: usize) -> bool {
        if self.refused {
            self.settle(i, not_logged(), None);
            false
        } else if interrupted() {
            self.settle(i, Outcome::Skipped { reason: "interrupted".into() }, None);
            false
        } else {
            true
        }
    }

    /// Whether the write `request` for action `i` may leave now (the sink logged its intent);
    /// if not, the action is settled skipped.
    pub fn send(&mut self, i: usize, request: &str) -> bool {
        if !self.may_start(i) {
            return false;
        }
        if !self.sink.sending(i, request) {
            self.refused = true;
            self.settle(i, not_logged(), None);
            return false;
        }
        true
    }

    /// `send` for one request that carries several actions: all of them leave, or none (an
    /// action whose intent was logged before a refusal is settled "not started").
    pub fn send_all(&mut self, actions: &[usize], request: &str) -> bool {
        for (n, &i) in actions.iter().enumerate() {
            if !self.send(i, request) {
                for &j in &actions[..n] {
                    self.settle(j, Outcome::Skipped { reason: "not started".into() }, None);
                }
                for &j in &actions[n + 1..] {
                    // Refused or interrupted, so this settles it skipped.
                    let _ = self.may_start(j);
                }
                return false;
            }
        }
        true
    }

    pub fn settle(&mut self, i: usize, outcome: Outcome, key: Option<&Key>) {
        self.sink.settled(i, outcome.clone(), key);
        if self.outcomes[i].is_none()
            && let Some(p) = &self.progress
        {
            p.inc(1);
        }
        self.outcomes[i] = Some(outcome);
    }

    /// Sets an outcome found by a read-back, telling the sink only when it changed.
    pub fn revise(&mut self, i: usize, outcome: Outcome) {
        if self.outcomes[i].as_ref() != Some(&outcome) {
            self.settle(i, outcome, None);
        }
    }

    /// The actions of a task that ended without an answer (it panicked): failed, with why.
    pub fn lost(&mut self, actions: &[usize], message: &str) {
        for &i in actions {
            let outcome = Outcome::Failed { message: message.to_owned(), status: None, incident: None };
            self.settle(i, outcome, None);
        }
    }

    pub fn outcome(&self, i: usize) -> Option<&Outcome> {
        self.outcomes[i].as_ref()
    }

    pub fn warn(&mut self, i: usize, message: String) {
        self.sink.warn(i, message);
    }

    /// The writes are over: the progress bar goes.
    pub fn written(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }

    /// The apply is over: every action not settled was never started.
    pub fn finish(mut self) {
        self.written();
        for i in 0..self.outcomes.len() {
            if self.outcomes[i].is_none() {
                self.settle(i, Outcome::Skipped { reason: "interrupted".into() }, None);
            }
        }
    }
}

/// A job's work, run as its own task.
pub type Task<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A task that ended without an answer (it panicked, or was cancelled), with the tag its job
/// was started with and what happened, secrets taken out.
pub struct Lost<G> {
    pub tag: G,
    pub message: String,
}

/// Runs `jobs`, at most `concurrency` at once. `start` turns a job into a task (tagged with
/// what a lost task is reported against), or settles it at once and gives `None`; `finish`
/// takes each task's answer as it comes, or the `Lost` of a task that panicked (the other
/// tasks go on), and may give a follow-up job, which starts before the rest of `jobs`.
/// `state` is what both share (the apply's `Ledger`, for writes).
pub async fn run<S, J, G, T>(
    state: &mut S,
    concurrency: usize,
    jobs: impl IntoIterator<Item = J>,
    mut start: impl FnMut(&mut S, J) -> Option<(G, Task<T>)>,
    mut finish: impl FnMut(&mut S, Result<T, Lost<G>>) -> Option<J>,
) where
    T: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut tags: HashMap<tokio::task::Id, G> = HashMap::new();
    let mut queue = jobs.into_iter();
    let mut follow_ups: Vec<J> = Vec::new();
    loop {
        while set.len() < concurrency.max(1) {
            let Some(job) = follow_ups.pop().or_else(|| queue.next()) else { break };
            if let Some((tag, task)) = start(state, job) {
                tags.insert(set.spawn(task).id(), tag);
            }
        }
        let answer = match set.join_next_with_id().await {
            None => break,
            Some(Ok((id, answer))) => {
                tags.remove(&id);
                Ok(answer)
            }
            Some(Err(e)) => {
                let tag = tags.remove(&e.id()).expect("every task is tagged");
                let message = crate::redact::redact(&format!("the task doing this stopped: {e}")).into_owned();
                Err(Lost { tag, message })
            }
        };
        if let Some(job) = finish(state, answer) {
            follow_ups.push(job);
        }
    }
}

/// Why a listing was given up.
#[derive(Debug, Clone, PartialEq)]
pub enum Unlisted {
    /// The total moved between pages, on every attempt.
    Moved,
    /// An empty page came before the total (`got` of `total` read).
    Short { total: u64, got: usize },
    /// A whole page of entries already read, at `position`: the service ignores paging.
    Repeats { position: u64 },
}

/// How many times a listing starts over before it gives up.
pub const LISTING_ATTEMPTS: usize = 3;

/// Every entry of a paged listing, de-duplicated by `key` (an entry without one is kept).
/// `page(position)` fetches the page that starts after `position` entries, giving its entries
/// and the total it announces. Starts over (at most `LISTING_ATTEMPTS` times) when the total
/// moves or a page comes back empty before it; without a total, reads until a page adds
/// nothing. `give_up` words the error when it gives up.
pub async fn list_all<F, Fut>(
    mut page: F,
    key: impl Fn(&Value) -> Option<Key>,
    give_up: impl FnOnce(Unlisted) -> HttpError,
) -> Result<Vec<Value>, HttpError>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(Vec<Value>, Option<u64>), HttpError>>,
{
    let mut why = Unlisted::Moved;
    'listing: for _ in 0..LISTING_ATTEMPTS {
        let mut items: Vec<Value> = Vec::new();
        let mut seen: HashSet<Key> = HashSet::new();
        let mut total: Option<u64> = None;
        let mut position = 0u64;
        loop {
            let (entries, page_total) = page(position).await?;
            if let (Some(t), Some(p)) = (total, page_total)
                && t != p
            {
                why = Unlisted::Moved;
                continue 'listing;
            }
            total = total.or(page_total);
            let n = entries.len() as u64;
            let mut fresh = 0;
            for entry in entries {
                if key(&entry).is_none_or(|k| seen.insert(k)) {
                    fresh += 1;
                    items.push(entry);
                }
            }
            position += n;
            match total {
                Some(t) if position >= t => return Ok(items),
                None if n == 0 || fresh == 0 => return Ok(items),
                None => {}
                Some(t) if n == 0 => {
                    why = Unlisted::Short { total: t, got: items.len() };
                    continue 'listing;
                }
                Some(_) if fresh == 0 => return Err(give_up(Unlisted::Repeats { position: position - n })),
                Some(_) => {}
            }
        }
    }
    Err(give_up(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<(usize, Outcome)>);

    impl ApplySink for Collect {
        fn sending(&mut self, _: usize, _: &str) -> bool {
            true
        }
        fn settled(&mut self, i: usize, o: Outcome, _: Option<&Key>) {
            self.0.push((i, o));
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn a_panicking_task_is_a_failed_action_and_the_others_go_on() {
        let mut sink = Collect(Vec::new());
        let mut ledger = Ledger::new(&mut sink, 6, false);
        block_on(run(
            &mut ledger,
            2,
            0..6usize,
            |ledger, i| {
                ledger.send(i, "PUT").then(|| {
                    let task: Task<usize> = Box::pin(async move {
                        tokio::task::yield_now().await;
                        assert!(i != 2, "job {i} broke");
                        i
                    });
                    (i, task)
                })
            },
            |ledger, answer| {
                match answer {
                    Ok(i) => ledger.settle(i, Outcome::Done, None),
                    Err(lost) => ledger.lost(&[lost.tag], &lost.message),
                }
                None
            },
        ));
        ledger.finish();
        let mut seen = sink.0;
        seen.sort_by_key(|(i, _)| *i);
        assert_eq!(seen.len(), 6, "{seen:?}");
        for (i, o) in &seen {
            match o {
                Outcome::Failed { message, .. } => {
                    assert_eq!(*i, 2);
                    assert!(message.contains("panicked") && message.contains("job 2 broke"), "{message}");
                }
                o => assert_eq!((*i, o), (*i, &Outcome::Done)),
            }
        }
    }

    #[test]
    fn follow_up_jobs_run_and_no_more_than_the_concurrency_at_once() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut done = Vec::new();
        block_on(run(
            &mut done,
            3,
            (0..10u32).map(|i| (i, false)),
            |_, (i, second)| {
                let (now, most) = (now.clone(), most.clone());
                let task: Task<(u32, bool)> = Box::pin(async move {
                    most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    (i, second)
                });
                Some(((), task))
            },
            |done: &mut Vec<(u32, bool)>, answer| {
                let (i, second) = answer.ok().unwrap();
                done.push((i, second));
                (!second).then_some((i, true))
            },
        ));
        assert_eq!(done.len(), 20);
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }

    fn pages(pages: Vec<(Vec<u32>, Option<u64>)>) -> Result<Vec<Value>, HttpError> {
        let pages = std::cell::RefCell::new(pages.into_iter());
        block_on(list_all(
            |_| {
                let next = pages.borrow_mut().next().expect("asked for a page too many");
                async move { Ok((next.0.into_iter().map(|k| serde_json::json!({ "key": k })).collect(), next.1)) }
            },
            |v| v.get("key").map(|k| Key(k.to_string())),
            |why| HttpError { status: None, code: None, incident: None, message: format!("{why:?}") },
        ))
    }

    #[test]
    fn a_listing_starts_over_when_it_moves_and_gives_up_when_it_does_not_page() {
        let ok = pages(vec![(vec![1, 2], Some(3)), (vec![2, 3], Some(3))]).unwrap();
        assert_eq!(ok.len(), 3, "de-duplicated");
        let ok = pages(vec![(vec![1, 2], Some(3)), (vec![3], Some(4)), (vec![1, 2], Some(3)), (vec![3], Some(3))]);
        assert_eq!(ok.unwrap().len(), 3, "started over when the total moved");
        let moved = (0..3).flat_map(|t| [(vec![1], Some(5 + t)), (vec![2], Some(9))]).collect();
        assert_eq!(pages(moved).unwrap_err().message, "Moved");
        let short = (0..3).flat_map(|_| [(vec![1], Some(3)), (vec![], Some(3))]).collect();
        assert_eq!(pages(short).unwrap_err().message, "Short { total: 3, got: 1 }");
        let repeats = vec![(vec![1, 2], Some(5)), (vec![1, 2], Some(5))];
        assert_eq!(pages(repeats).unwrap_err().message, "Repeats { position: 2 }");
        let untotalled = pages(vec![(vec![1, 2], None), (vec![3], None), (vec![], None)]).unwrap();
        assert_eq!(untotalled.len(), 3, "read until a page adds nothing");
    }
}
