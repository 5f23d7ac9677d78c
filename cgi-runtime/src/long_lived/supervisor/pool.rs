//! The pool's state as the supervisor knows it from its children's messages, and the
//! status document made of it (JSON, written by hand: the runtime has no JSON library
//! unless the `json` feature is on).

use std::fmt::Write as _;
use std::time::Instant;

use super::channel::FromChild;

/// What one process is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// Started, not yet accepting.
    Starting,
    Idle,
    Busy {
        since: Instant,
        request: String,
    },
    /// Finishing its request, if any, and accepting no more.
    Stopping,
}

/// One process of the pool.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) pid: u32,
    pub(crate) state: State,
    /// Requests it has begun.
    pub(crate) requests: u64,
}

/// Every slot of the pool (a slot's process is replaced in place) and the counters.
#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) slots: Vec<Option<Member>>,
    started: Instant,
    /// Requests begun by any process.
    accepted: u64,
    /// Requests that began while no other process was idle.
    all_busy: u64,
    /// Processes killed for running past `--request-timeout`.
    pub(crate) timed_out: u64,
    /// Processes that ended while the pool was serving, whatever the reason, and were
    /// replaced.
    pub(crate) replaced: u64,
}

impl Pool {
    pub(crate) fn new(processes: usize) -> Pool {
        Pool {
            slots: (0..processes).map(|_| None).collect(),
            started: Instant::now(),
            accepted: 0,
            all_busy: 0,
            timed_out: 0,
            replaced: 0,
        }
    }

    /// The member in `slot`, if it is still process `pid` (a late message from a
    /// replaced process changes nothing).
    pub(crate) fn member(&mut self, slot: usize, pid: u32) -> Option<&mut Member> {
        self.slots
            .get_mut(slot)?
            .as_mut()
            .filter(|member| member.pid == pid)
    }

    /// Applies a child's message.
    pub(crate) fn apply(&mut self, slot: usize, pid: u32, message: FromChild) {
        let Some(member) = self.member(slot, pid) else {
            return;
        };
        match message {
            FromChild::Ready => member.state = State::Idle,
            FromChild::Begin(request) => {
                member.state = State::Busy {
                    since: Instant::now(),
                    request,
                };
                member.requests += 1;
                self.accepted += 1;
                if self.count(|state| *state == State::Idle) == 0 {
                    self.all_busy += 1;
                }
            }
            FromChild::End => {
                if member.state != State::Stopping {
                    member.state = State::Idle;
                }
            }
            FromChild::Stopping => member.state = State::Stopping,
            FromChild::Status => {}
        }
    }

    fn count(&self, matches: impl Fn(&State) -> bool) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|member| matches(&member.state))
            .count()
    }

    /// The status document: the counters, then one object per process.
    pub(crate) fn to_json(&self, program: &str) -> String {
        let now = Instant::now();
        let mut json = String::with_capacity(256 + 64 * self.slots.len());
        json.push_str("{\"pool\":");
        push_string(&mut json, program);
        let _ = write!(
            json,
            ",\"processes\":{},\"accepted\":{},\"active\":{},\"idle\":{},\"starting\":{},\
             \"all_busy\":{},\"timed_out\":{},\"replaced\":{},\"uptime_seconds\":{},\
             \"per_process\":[",
            self.slots.len(),
            self.accepted,
            self.count(|state| matches!(state, State::Busy { .. })),
            self.count(|state| *state == State::Idle),
            self.count(|state| *state == State::Starting),
            self.all_busy,
            self.timed_out,
            self.replaced,
            now.duration_since(self.started).as_secs(),
        );
        for (index, member) in self.slots.iter().flatten().enumerate() {
            if index > 0 {
                json.push(',');
            }
            let state = match member.state {
                State::Starting => "starting",
                State::Idle => "idle",
                State::Busy { .. } => "busy",
                State::Stopping => "stopping",
            };
            let _ = write!(
                json,
                "{{\"pid\":{},\"state\":\"{state}\",\"requests\":{}",
                member.pid, member.requests
            );
            if let State::Busy { since, .. } = member.state {
                let _ = write!(
                    json,
                    ",\"busy_ms\":{}",
                    now.duration_since(since).as_millis()
                );
            }
            json.push('}');
        }
        json.push_str("]}");
        json
    }
}

/// A JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped.
fn push_string(json: &mut String, text: &str) {
    json.push('"');
    for c in text.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(json, "\\u{:04x}", u32::from(c));
            }
            c => json.push(c),
        }
    }
    json.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_of_three() -> Pool {
        let mut pool = Pool::new(3);
        for (slot, pid) in [(0, 100), (1, 101), (2, 102)] {
            pool.slots[slot] = Some(Member {
                pid,
                state: State::Starting,
                requests: 0,
            });
        }
        pool
    }

    #[test]
    fn messages_move_processes_between_states_and_count_busy_times() {
        let mut pool = pool_of_three();
        pool.apply(0, 100, FromChild::Ready);
        pool.apply(1, 101, FromChild::Ready);
        // Slot 2 is still starting: one request leaves one idle process.
        pool.apply(0, 100, FromChild::Begin("GET /a".into()));
        assert_eq!(pool.all_busy, 0);
        // The second takes the last idle one: all busy.
        pool.apply(1, 101, FromChild::Begin("GET /b".into()));
        assert_eq!(pool.all_busy, 1);
        pool.apply(0, 100, FromChild::End);
        pool.apply(0, 100, FromChild::Begin("GET /c".into()));
        assert_eq!((pool.accepted, pool.all_busy), (3, 2));
        // A message from a process no longer in its slot changes nothing.
        pool.apply(2, 999, FromChild::Ready);
        assert_eq!(pool.slots[2].as_ref().unwrap().state, State::Starting);
        pool.apply(1, 101, FromChild::Stopping);
        pool.apply(1, 101, FromChild::End);
        assert_eq!(pool.slots[1].as_ref().unwrap().state, State::Stopping);
        assert_eq!(pool.slots[0].as_ref().unwrap().requests, 2);
    }

    #[test]
    fn the_status_document_is_json_with_every_process() {
        let mut pool = pool_of_three();
        pool.apply(0, 100, FromChild::Ready);
        pool.apply(1, 101, FromChild::Ready);
        pool.apply(1, 101, FromChild::Begin("GET /".into()));
        pool.slots[2] = None;
        pool.replaced = 1;
        let json = pool.to_json("my \"app\"\n");
        let busy_ms = json
            .split("\"busy_ms\":")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .unwrap();
        assert!(busy_ms.parse::<u64>().unwrap() < 1000, "{json}");
        assert_eq!(
            json.replace(&format!("\"busy_ms\":{busy_ms}"), "\"busy_ms\":0"),
            "{\"pool\":\"my \\\"app\\\"\\u000a\",\"processes\":3,\"accepted\":1,\"active\":1,\
             \"idle\":1,\"starting\":0,\"all_busy\":0,\"timed_out\":0,\"replaced\":1,\
             \"uptime_seconds\":0,\"per_process\":[\
             {\"pid\":100,\"state\":\"idle\",\"requests\":0},\
             {\"pid\":101,\"state\":\"busy\",\"requests\":1,\"busy_ms\":0}]}"
        );
    }
}
