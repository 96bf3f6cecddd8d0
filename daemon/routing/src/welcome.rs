//! Automatic messages to customers: welcome messages by time period (M1, §7.2;
//! R24) and busy/away auto-replies, account-wide and personal (M2, §7.3–7.4; R25).
//!
//! **Welcome.** Periods are checked in the configured order and the first that
//! covers the local time (`now` shifted by `utc_offset_minutes`) gives the text;
//! none covering it means no welcome. A period covers some weekdays from
//! `start_minute` to `end_minute` (minutes after local midnight, end exclusive);
//! `end <= start` runs past midnight into the next day (22:00–06:00 listed for
//! Friday covers Friday night and early Saturday); `start == end` is the whole
//! day. Sent once, when a conversation is created by the customer (`open`), not
//! when an open one continues, not on `initiate` or `reselect`.
//!
//! **Auto-replies.** When the customer writes:
//!
//! | the conversation is | presence looked at | Busy | Away or Offline | Online |
//! |---|---|---|---|---|
//! | served | the serving agent's | its personal text, else the account's busy text | its personal text, else the account's away text | none |
//! | queued | the account's (§7.14) | the account's busy text | the account's away text | none |
//!
//! (The manual's personal reply is for an agent that set itself Busy or Away;
//! an offline agent — logged out keeping its conversations — is treated as away.)
//! At most one auto-reply **of each kind** (busy, away, personal) per conversation per
//! `min_interval_ms` (default 5 minutes), so a customer typing a burst of lines gets
//! one, not one per line, while a change of the agent's state (away, then busy) is
//! told at once: one kind never silences another.
//!
//! An account whose presence mode is "always online" (§7.14) never sends the away
//! text: its customers are not told that it is away (a queued conversation sees the
//! account online, so no reply; a served one whose agent is away gets only that
//! agent's personal text, if it set one).

use super::effect::{AutoReplyKind, Effect, RoutingError};
use super::state::{AccountPresenceMode, AccountRouting, MINUTE_MS};
use kefu_wire::Presence;

const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
const MINUTES_PER_DAY: u16 = 24 * 60;

/// A set of weekdays; bit 0 is Monday … bit 6 Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

impl Weekdays {
    /// Monday to Friday.
    pub const MON_FRI: Weekdays = Weekdays(0b001_1111);
    /// Saturday and Sunday.
    pub const SAT_SUN: Weekdays = Weekdays(0b110_0000);
    /// Every day.
    pub const EVERY_DAY: Weekdays = Weekdays(0b111_1111);

    /// From a bit set (bit 0 Monday … bit 6 Sunday; bit 7 ignored).
    pub const fn from_bits(bits: u8) -> Weekdays {
        Weekdays(bits & 0b111_1111)
    }

    /// The bit set.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether `day` (0 Monday … 6 Sunday) is in the set.
    pub fn contains(self, day: u8) -> bool {
        day < 7 && self.0 & (1 << day) != 0
    }
}

/// One welcome period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomePeriod {
    /// The weekdays it starts on.
    pub days: Weekdays,
    /// Start, minutes after local midnight (0..1440).
    pub start_minute: u16,
    /// End, exclusive (0..=1440); at or before the start: runs past midnight.
    pub end_minute: u16,
    /// The welcome text.
    pub text: String,
}

/// Welcome messages (§7.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WelcomeSettings {
    /// The account's local time, minutes east of UTC (−840..=840).
    pub utc_offset_minutes: i32,
    /// Periods, first match wins. Empty: no welcome.
    pub periods: Vec<WelcomePeriod>,
}

impl WelcomeSettings {
    /// The welcome text for a conversation opened at `now`, if any.
    pub fn text_at(&self, now: i64) -> Option<&str> {
        if self.periods.is_empty() {
            return None;
        }
        let (day, minute) = local_day_minute(now, self.utc_offset_minutes);
        self.periods
            .iter()
            .find(|p| p.covers(day, minute))
            .map(|p| p.text.as_str())
    }

    pub(super) fn validate(&self) -> Result<(), RoutingError> {
        if !(-840..=840).contains(&self.utc_offset_minutes) {
            return Err(RoutingError::InvalidSettings(
                "welcome UTC offset must be within ±14 hours",
            ));
        }
        for p in &self.periods {
            if p.start_minute >= MINUTES_PER_DAY || p.end_minute > MINUTES_PER_DAY {
                return Err(RoutingError::InvalidSettings(
                    "welcome period minutes must be within the day",
                ));
            }
        }
        Ok(())
    }
}

impl WelcomePeriod {
    /// Whether the period covers local weekday `day` (0 Monday), `minute` of the day.
    fn covers(&self, day: u8, minute: u16) -> bool {
        let (start, end) = (self.start_minute, self.end_minute);
        if start == end {
            return self.days.contains(day);
        }
        if start < end {
            return self.days.contains(day) && (start..end).contains(&minute);
        }
        let yesterday = (day + 6) % 7;
        (self.days.contains(day) && minute >= start)
            || (self.days.contains(yesterday) && minute < end)
    }
}

/// Local weekday (0 Monday … 6 Sunday) and minute of the day of unix ms `now`.
fn local_day_minute(now: i64, utc_offset_minutes: i32) -> (u8, u16) {
    let local = now.saturating_add(i64::from(utc_offset_minutes) * MINUTE_MS);
    let days = local.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    let weekday = u8::try_from(days.saturating_add(3).rem_euclid(7)).unwrap_or(0);
    let minute = u16::try_from(local.rem_euclid(DAY_MS) / MINUTE_MS).unwrap_or(0);
    (weekday, minute)
}

/// Account auto-replies (§7.3) and the rate limit of all auto-replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoReplySettings {
    /// Sent while busy.
    pub busy: Option<String>,
    /// Sent while away (or nobody is online).
    pub away: Option<String>,
    /// At most one auto-reply per conversation per this many ms (default 5 minutes).
    pub min_interval_ms: i64,
}

impl Default for AutoReplySettings {
    fn default() -> Self {
        AutoReplySettings {
            busy: None,
            away: None,
            min_interval_ms: 5 * MINUTE_MS,
        }
    }
}

impl AccountRouting {
    /// R25: the auto-reply to a customer message in `id`, if one is due.
    pub(super) fn auto_reply(&mut self, id: u64, now: i64, fx: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(&id) else {
            return;
        };
        let always_online = self.settings.presence_mode == AccountPresenceMode::AlwaysOnline;
        let (presence, personal) = match c.agent().and_then(|a| self.agents.get(&a)) {
            Some(a) => (a.presence, a.personal_auto_reply.as_deref()),
            None => (self.account_presence(), None),
        };
        let account = match presence {
            Presence::Online => return,
            Presence::Busy => (
                AutoReplyKind::Busy,
                self.settings.auto_reply.busy.as_deref(),
            ),
            // §7.14: an account shown "always online" never tells its customers it is
            // away (the agent's own reply, §7.4, is still its choice).
            Presence::Away | Presence::Offline if always_online => (AutoReplyKind::Away, None),
            Presence::Away | Presence::Offline => (
                AutoReplyKind::Away,
                self.settings.auto_reply.away.as_deref(),
            ),
        };
        let (kind, text) = match (personal, account) {
            (Some(text), _) => (AutoReplyKind::Personal, text),
            (None, (kind, Some(text))) => (kind, text),
            (None, (_, None)) => return,
        };
        let slot = kind.index();
        if c.last_auto_reply_at
            .get(slot)
            .copied()
            .flatten()
            .is_some_and(|t| now.saturating_sub(t) < self.settings.auto_reply.min_interval_ms)
        {
            return;
        }
        let text = text.to_owned();
        if let Some(at) = self
            .conversations
            .get_mut(&id)
            .and_then(|c| c.last_auto_reply_at.get_mut(slot))
        {
            *at = Some(now);
        }
        fx.push(Effect::AutoReply {
            conversation: id,
            kind,
            text,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// 2024-01-01 00:00 UTC, a Monday.
    const MONDAY: i64 = 1_704_067_200_000;

    fn at(day: i64, hour: i64, minute: i64) -> i64 {
        MONDAY + day * DAY_MS + hour * HOUR + minute * MINUTE_MS
    }

    fn period(days: Weekdays, start: u16, end: u16, text: &str) -> WelcomePeriod {
        WelcomePeriod {
            days,
            start_minute: start,
            end_minute: end,
            text: text.to_owned(),
        }
    }

    #[test]
    fn weekday_and_minute_from_unix_millis() {
        assert_eq!(local_day_minute(0, 0), (3, 0)); // 1970-01-01, Thursday
        assert_eq!(local_day_minute(MONDAY, 0), (0, 0));
        assert_eq!(local_day_minute(MONDAY - 1, 0), (6, 1439)); // Sunday 23:59
        assert_eq!(local_day_minute(MONDAY, 480), (0, 480)); // UTC+8
        assert_eq!(local_day_minute(MONDAY, -60), (6, 1380)); // UTC−1: Sunday 23:00
        assert_eq!(local_day_minute(-1, 0), (2, 1439)); // before the epoch
    }

    /// R24: welcome text by weekday and time of day, in the configured offset.
    #[test]
    fn welcome_by_period() {
        let w = WelcomeSettings {
            utc_offset_minutes: 8 * 60, // Beijing
            periods: vec![
                period(Weekdays::MON_FRI, 9 * 60, 18 * 60, "weekday"),
                period(Weekdays::MON_FRI, 18 * 60, 9 * 60, "evening"),
                period(Weekdays::SAT_SUN, 0, 0, "weekend"),
            ],
        };
        // (UTC time, expected text): Beijing is UTC+8
        let rows = [
            (at(0, 1, 0), Some("weekday")),   // Mon 09:00 local
            (at(0, 9, 59), Some("weekday")),  // Mon 17:59
            (at(0, 10, 0), Some("evening")),  // Mon 18:00
            (at(1, 0, 0), Some("evening")),   // Tue 08:00: Monday's evening past midnight
            (at(0, 0, 59), None),             // Mon 08:59 after a Sunday: no period covers it
            (at(4, 10, 0), Some("evening")),  // Fri 18:00
            (at(4, 17, 0), Some("evening")),  // Sat 01:00: Friday's evening first, then weekend
            (at(5, 2, 0), Some("weekend")),   // Sat 10:00
            (at(6, 15, 59), Some("weekend")), // Sun 23:59
            (at(6, 16, 0), None),             // Mon 00:00
        ];
        for (i, (now, want)) in rows.iter().enumerate() {
            assert_eq!(w.text_at(*now), *want, "row {i}");
        }
        assert_eq!(WelcomeSettings::default().text_at(MONDAY), None);
    }

    /// R24: sent on a new conversation only.
    #[test]
    fn welcome_is_sent_when_a_conversation_opens() {
        let mut r = routing_with(|s| {
            s.welcome = WelcomeSettings {
                utc_offset_minutes: 0,
                periods: vec![
                    period(Weekdays::MON_FRI, 0, 0, "hello weekday"),
                    period(Weekdays::SAT_SUN, 0, 0, "hello weekend"),
                ],
            }
        });
        add_online(&mut r, 1001, 5, 0);
        let welcome = |fx: &[Effect]| {
            fx.iter().find_map(|e| match e {
                Effect::Welcome { text, .. } => Some(text.clone()),
                _ => None,
            })
        };
        let out = r
            .open(cust(1), Channel::Web, Entry::Auto, at(2, 12, 0))
            .unwrap();
        assert_eq!(welcome(&out.effects).as_deref(), Some("hello weekday"));
        let out = r
            .open(cust(2), Channel::Web, Entry::Auto, at(5, 12, 0))
            .unwrap();
        assert_eq!(welcome(&out.effects).as_deref(), Some("hello weekend"));
        let out = r
            .open(cust(1), Channel::Web, Entry::Auto, at(5, 12, 0))
            .unwrap();
        assert_eq!(welcome(&out.effects), None); // continues
        let out = r
            .initiate(1001, cust(3), Channel::Web, false, at(5, 12, 0))
            .unwrap();
        assert_eq!(welcome(&out.effects), None);
    }

    #[test]
    fn welcome_settings_are_validated() {
        let bad = [
            WelcomeSettings {
                utc_offset_minutes: 841,
                periods: vec![],
            },
            WelcomeSettings {
                utc_offset_minutes: 0,
                periods: vec![period(Weekdays::EVERY_DAY, 1440, 0, "x")],
            },
            WelcomeSettings {
                utc_offset_minutes: 0,
                periods: vec![period(Weekdays::EVERY_DAY, 0, 1441, "x")],
            },
        ];
        for w in bad {
            let s = RoutingSettings {
                welcome: w,
                ..RoutingSettings::default()
            };
            assert!(matches!(
                AccountRouting::new(s, 1),
                Err(RoutingError::InvalidSettings(_))
            ));
        }
    }

    /// R25: which auto-reply, by the serving agent's (or account's) presence and
    /// the texts configured.
    #[test]
    fn auto_reply_by_presence_and_texts() {
        use AutoReplyKind::*;
        // (agent presence, personal text?, account texts?, expected)
        let rows = [
            (Presence::Online, true, true, None),
            (Presence::Busy, false, true, Some((Busy, "busy"))),
            (Presence::Away, false, true, Some((Away, "away"))),
            (Presence::Busy, true, true, Some((Personal, "mine"))),
            (Presence::Away, true, false, Some((Personal, "mine"))),
            (Presence::Busy, false, false, None),
            (Presence::Offline, false, true, Some((Away, "away"))),
        ];
        for (presence, personal, account, want) in rows {
            let mut r = routing_with(|s| {
                if account {
                    s.auto_reply.busy = Some("busy".into());
                    s.auto_reply.away = Some("away".into());
                }
            });
            add_online(&mut r, 1001, 5, 0);
            if personal {
                r.set_personal_auto_reply(1001, Some("mine".into()))
                    .unwrap();
            }
            let c = give(&mut r, 1001, 1, 0);
            if presence == Presence::Offline {
                let _ = r.logout(1001, true, 0).unwrap();
            } else {
                let _ = r.set_presence(1001, presence, 0).unwrap();
            }
            let got: Vec<(AutoReplyKind, String)> = r
                .customer_message(c, 1)
                .unwrap()
                .effects
                .into_iter()
                .filter_map(|e| match e {
                    Effect::AutoReply { kind, text, .. } => Some((kind, text)),
                    _ => None,
                })
                .collect();
            let want: Vec<(AutoReplyKind, String)> =
                want.into_iter().map(|(k, t)| (k, t.to_owned())).collect();
            assert_eq!(
                got, want,
                "{presence:?} personal {personal} account {account}"
            );
        }
    }

    /// R25: a queued conversation gets the account's reply by account presence;
    /// at most one per interval per conversation.
    #[test]
    fn auto_reply_for_queued_and_rate_limited() {
        let mut r = routing_with(|s| {
            s.auto_reply.busy = Some("busy".into());
            s.auto_reply.away = Some("away".into());
        });
        // nobody online: away
        let q = open_auto(&mut r, 1, 0);
        let count = |r: &mut TestRouting, t: i64| {
            r.customer_message(q, t)
                .unwrap()
                .effects
                .iter()
                .filter(|e| {
                    matches!(
                        e,
                        Effect::AutoReply {
                            kind: AutoReplyKind::Away,
                            ..
                        }
                    )
                })
                .count()
        };
        assert_eq!(count(&mut r, 0), 1);
        assert_eq!(count(&mut r, 1), 0);
        assert_eq!(count(&mut r, 5 * MINUTE_MS - 1), 0);
        assert_eq!(count(&mut r, 5 * MINUTE_MS), 1);
        // an Online agent at cap 0: the account is online, no reply
        add_online(&mut r, 1001, 0, 0);
        assert_eq!(count(&mut r, HOUR), 0);
        // the same agent Busy: the account is busy
        let _ = r.set_presence(1001, Presence::Busy, HOUR).unwrap();
        let fx = r.customer_message(q, HOUR).unwrap().effects;
        assert!(matches!(
            &fx[..],
            [Effect::AutoReply {
                kind: AutoReplyKind::Busy,
                ..
            }]
        ));
    }

    fn kinds(fx: &[Effect]) -> Vec<AutoReplyKind> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::AutoReply { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect()
    }

    /// §7.3: an away reply does not silence the busy reply that follows it (each kind
    /// has its own interval), while a repeat of one kind within it stays silent.
    #[test]
    fn one_kind_of_auto_reply_does_not_silence_another() {
        let mut r = routing_with(|s| {
            s.auto_reply.busy = Some("busy".into());
            s.auto_reply.away = Some("away".into());
        });
        add_online(&mut r, 1001, 5, 0);
        let c = give(&mut r, 1001, 1, 0);
        let _ = r.set_presence(1001, Presence::Away, 0).unwrap();
        assert_eq!(
            kinds(&r.customer_message(c, 1).unwrap().effects),
            [AutoReplyKind::Away]
        );
        let _ = r.set_presence(1001, Presence::Busy, 2).unwrap();
        assert_eq!(
            kinds(&r.customer_message(c, 3).unwrap().effects),
            [AutoReplyKind::Busy]
        );
        assert!(kinds(&r.customer_message(c, 4).unwrap().effects).is_empty());
        let _ = r.set_presence(1001, Presence::Away, 5).unwrap();
        assert!(kinds(&r.customer_message(c, 6).unwrap().effects).is_empty());
        r.set_personal_auto_reply(1001, Some("mine".into()))
            .unwrap();
        assert_eq!(
            kinds(&r.customer_message(c, 7).unwrap().effects),
            [AutoReplyKind::Personal]
        );
    }

    /// §7.14: an always-online account never sends the away text; the agent's
    /// personal reply and the busy text still go.
    #[test]
    fn an_always_online_account_does_not_say_it_is_away() {
        let mut r = routing_with(|s| {
            s.presence_mode = AccountPresenceMode::AlwaysOnline;
            s.auto_reply.busy = Some("busy".into());
            s.auto_reply.away = Some("away".into());
        });
        let q = open_auto(&mut r, 2, 0);
        assert!(kinds(&r.customer_message(q, 1).unwrap().effects).is_empty());
        add_online(&mut r, 1001, 5, 0);
        let c = give(&mut r, 1001, 1, 0);
        let _ = r.set_presence(1001, Presence::Away, 0).unwrap();
        assert!(kinds(&r.customer_message(c, 1).unwrap().effects).is_empty());
        let _ = r.set_presence(1001, Presence::Busy, 2).unwrap();
        assert_eq!(
            kinds(&r.customer_message(c, 3).unwrap().effects),
            [AutoReplyKind::Busy]
        );
        let _ = r.set_presence(1001, Presence::Away, 4).unwrap();
        r.set_personal_auto_reply(1001, Some("mine".into()))
            .unwrap();
        assert_eq!(
            kinds(&r.customer_message(c, 5).unwrap().effects),
            [AutoReplyKind::Personal]
        );
    }
}
