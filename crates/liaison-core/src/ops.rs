//! Decisions and state changes for the cell's operational business: the hotline, the
//! deadline clock and incidents. Charter business lives in `command.rs`.

use crate::PartyId;
use crate::charter::{OperatorRole, PartyRole};
use crate::command::{Actor, Command, Draft, check_text, require_supervisor};
use crate::deadline::{Duty, MAX_LEVEL, ObligationKey};
use crate::error::DomainError;
use crate::event::{Event, EventBody};
use crate::hotline::{
    self, AttachmentRef, MAX_ATTACHMENTS, MAX_BODY, MAX_REPLY, MAX_SUBJECT, Message,
    RecipientState, Translation,
};
use crate::incident::{Account, Closure, Finding, Incident, InfoRequest, MAX_LINKS, MAX_TEXT};
use crate::state::State;
use crate::time::{Duration, Timestamp};
use std::collections::BTreeSet;

/// Roles that speak for a party on the hotline and in incidents.
fn speaks_for_party(actor: &Actor) -> Result<(&str, &str), DomainError> {
    match actor {
        Actor::Operator {
            name, party, role, ..
        } => match role {
            OperatorRole::Liaison | OperatorRole::Supervisor | OperatorRole::Observer => {
                Ok((name, party))
            }
            _ => Err(DomainError::forbidden(format!(
                "role {role} cannot speak for a party; use a liaison, supervisor or observer operator"
            ))),
        },
        Actor::System => Err(DomainError::forbidden(
            "the cell does not send messages itself",
        )),
    }
}

fn check_attachments(a: &[AttachmentRef]) -> Result<(), DomainError> {
    if a.len() > MAX_ATTACHMENTS {
        return Err(DomainError::invalid(
            "attachments",
            format!("at most {MAX_ATTACHMENTS}"),
        ));
    }
    for (i, x) in a.iter().enumerate() {
        if x.sha256.len() != 64
            || !x
                .sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(DomainError::invalid(
                format!("attachments[{i}].sha256"),
                "must be 64 lowercase hex digits",
            ));
        }
        check_text(&format!("attachments[{i}].name"), &x.name, 255)?;
    }
    Ok(())
}

fn message(state: &State, id: u64) -> Result<&Message, DomainError> {
    state
        .hotline
        .messages
        .get(&id)
        .ok_or_else(|| DomainError::not_found(format!("message {id}")))
}

fn incident_of(state: &State, id: u64) -> Result<&Incident, DomainError> {
    state
        .incidents
        .get(&id)
        .ok_or_else(|| DomainError::not_found(format!("incident {id}")))
}

/// A message's recipient-side action: the actor must act for one of its recipients.
fn recipient_party<'a>(actor: &'a Actor, m: &Message) -> Result<&'a str, DomainError> {
    let (_, party) = speaks_for_party(actor)?;
    if m.to.contains(party) {
        Ok(party)
    } else {
        Err(DomainError::forbidden(format!(
            "party {party:?} is not a recipient of message {}",
            m.id
        )))
    }
}

pub(crate) fn decide(
    state: &State,
    actor: &Actor,
    command: &Command,
    now: Timestamp,
) -> Result<Vec<Draft>, DomainError> {
    let charter = state.charter().ok_or(DomainError::NoCell)?;
    match command {
        Command::SendMessage {
            to,
            precedence,
            subject,
            body,
            language,
            emergency,
            test,
            attachments,
        } => {
            let (_, from) = speaks_for_party(actor)?;
            if to.is_empty() || to.len() > 32 {
                return Err(DomainError::invalid("to", "name 1-32 recipient parties"));
            }
            for p in to {
                if charter.party(p).is_none() {
                    return Err(DomainError::invalid("to", format!("unknown party {p:?}")));
                }
                if p == from {
                    return Err(DomainError::invalid(
                        "to",
                        "a party does not message itself",
                    ));
                }
            }
            if subject.trim().is_empty() {
                return Err(DomainError::invalid("subject", "must not be empty"));
            }
            check_text("subject", subject, MAX_SUBJECT)?;
            check_text("body", body, MAX_BODY)?;
            hotline::check_language(language).map_err(|m| DomainError::invalid("language", m))?;
            check_attachments(attachments)?;
            if *emergency && *precedence != crate::charter::Precedence::Flash {
                return Err(DomainError::invalid(
                    "emergency",
                    "only a FLASH message can be an emergency",
                ));
            }
            let channel = hotline::channel_name(from, to);
            let channel_seq = state.hotline.channels.get(&channel).copied().unwrap_or(0) + 1;
            let mut parties: Vec<&String> = to.iter().collect();
            let from_s = from.to_string();
            parties.push(&from_s);
            Ok(vec![Draft::to_parties(
                state,
                parties,
                EventBody::MessageSent {
                    channel,
                    channel_seq,
                    to: to.clone(),
                    precedence: *precedence,
                    subject: subject.clone(),
                    body: body.clone(),
                    language: language.clone(),
                    emergency: *emergency,
                    test: *test,
                    attachments: attachments.clone(),
                },
            )])
        }
        Command::MarkDelivered { message: id } | Command::MarkRead { message: id } => {
            let m = message(state, *id)?;
            let party = recipient_party(actor, m)?;
            let r = m.recipients.get(party).cloned().unwrap_or_default();
            let delivered = matches!(command, Command::MarkDelivered { .. });
            let mut out = Vec::new();
            if r.delivered_at.is_none() {
                out.push(Draft::to_parties(
                    state,
                    &m.parties(),
                    EventBody::MessageDelivered {
                        message: *id,
                        party: party.into(),
                    },
                ));
            }
            if !delivered && r.read_at.is_none() {
                out.push(Draft::to_parties(
                    state,
                    &m.parties(),
                    EventBody::MessageRead {
                        message: *id,
                        party: party.into(),
                    },
                ));
            }
            Ok(out)
        }
        Command::MarkDeliveredMany { messages } => {
            let (_, party) = speaks_for_party(actor)?;
            // One event per channel, so each carries exactly its messages' audience.
            let mut by_channel: std::collections::BTreeMap<&str, (Vec<u64>, BTreeSet<PartyId>)> =
                Default::default();
            for id in messages.iter().take(1000) {
                let Some(m) = state.hotline.messages.get(id) else {
                    continue;
                };
                let undelivered = m
                    .recipients
                    .get(party)
                    .is_some_and(|r| r.delivered_at.is_none());
                if undelivered {
                    let e = by_channel
                        .entry(m.channel.as_str())
                        .or_insert_with(|| (Vec::new(), m.parties()));
                    e.0.push(*id);
                }
            }
            Ok(by_channel
                .into_values()
                .map(|(ids, parties)| {
                    Draft::to_parties(
                        state,
                        &parties,
                        EventBody::MessagesDelivered {
                            messages: ids,
                            party: party.to_string(),
                        },
                    )
                })
                .collect())
        }
        Command::AcknowledgeMessage { message: id, reply } => {
            let m = message(state, *id)?;
            let party = recipient_party(actor, m)?;
            if let Some(r) = reply {
                check_text("reply", r, MAX_REPLY)?;
            }
            let r = m.recipients.get(party).cloned().unwrap_or_default();
            if r.acknowledged_at.is_some() {
                return Err(DomainError::InvalidState(format!(
                    "message {id} is already acknowledged by {party}"
                )));
            }
            let mut out = Vec::new();
            if r.delivered_at.is_none() {
                out.push(Draft::to_parties(
                    state,
                    &m.parties(),
                    EventBody::MessageDelivered {
                        message: *id,
                        party: party.into(),
                    },
                ));
            }
            if r.read_at.is_none() {
                out.push(Draft::to_parties(
                    state,
                    &m.parties(),
                    EventBody::MessageRead {
                        message: *id,
                        party: party.into(),
                    },
                ));
            }
            out.push(Draft::to_parties(
                state,
                &m.parties(),
                EventBody::MessageAcknowledged {
                    message: *id,
                    party: party.into(),
                    reply: reply.clone(),
                },
            ));
            Ok(out)
        }
        Command::TranslateMessage {
            message: id,
            language,
            text,
        } => {
            let m = message(state, *id)?;
            let (_, party) = speaks_for_party(actor).or_else(|_| match actor {
                Actor::Operator {
                    name,
                    party,
                    role: OperatorRole::Analyst,
                    ..
                } => Ok((name.as_str(), party.as_str())),
                _ => Err(DomainError::forbidden(
                    "only operators of the parties on the message may translate it",
                )),
            })?;
            let on_message = m.parties().contains(party)
                || actor.is_supervisor()
                || state.party_role(party) == Some(PartyRole::Supervisor);
            if !on_message {
                return Err(DomainError::forbidden(format!(
                    "party {party:?} is not on message {id}"
                )));
            }
            hotline::check_language(language).map_err(|m| DomainError::invalid("language", m))?;
            check_text("text", text, MAX_BODY)?;
            Ok(vec![Draft::to_parties(
                state,
                &m.parties(),
                EventBody::MessageTranslated {
                    message: *id,
                    language: language.clone(),
                    text: text.clone(),
                },
            )])
        }
        Command::CloseEmergency {
            message: id,
            reason,
        } => {
            let m = message(state, *id)?;
            if !m.emergency {
                return Err(DomainError::InvalidState(format!(
                    "message {id} is not an emergency"
                )));
            }
            if m.closed.is_some() {
                return Err(DomainError::InvalidState(format!(
                    "emergency {id} is already closed"
                )));
            }
            let author = matches!(actor, Actor::Operator { name, .. } if *name == m.author);
            if !author && !actor.is_supervisor() {
                return Err(DomainError::forbidden(
                    "only its author may cancel an emergency, or the supervisor close it",
                ));
            }
            check_text("reason", reason, MAX_REPLY)?;
            Ok(vec![Draft::to_parties(
                state,
                &m.parties(),
                EventBody::EmergencyClosed {
                    message: *id,
                    reason: reason.clone(),
                },
            )])
        }
        Command::EscalateDue { limit } => {
            if actor != &Actor::System {
                return Err(DomainError::forbidden(
                    "only the cell's clock escalates deadlines",
                ));
            }
            let mut out = Vec::new();
            for o in state.obligations.due(now, *limit) {
                if o.level >= MAX_LEVEL {
                    continue;
                }
                let mut parties: BTreeSet<PartyId> = o.waiting.clone();
                parties.insert(o.key.party.clone());
                out.push(Draft::to_parties(
                    state,
                    &parties,
                    EventBody::Escalated {
                        duty: o.key.duty.clone(),
                        subject: o.key.subject.clone(),
                        party: o.key.party.clone(),
                        level: o.level + 1,
                        due_at: o.next_due.unwrap_or(o.first_due),
                    },
                ));
            }
            Ok(out)
        }
        Command::ReportIncident {
            category,
            precedence,
            occurred_at,
            precision,
            place,
            description,
            attributed_to,
            links,
            attachments,
        } => {
            let (_, party) = speaks_for_party(actor)?;
            if let Some(a) = attributed_to {
                if charter.party(a).is_none() {
                    return Err(DomainError::invalid(
                        "attributed_to",
                        format!("unknown party {a:?}"),
                    ));
                }
                if a == party {
                    return Err(DomainError::invalid(
                        "attributed_to",
                        "report your own party's incidents as accounts, not attributions",
                    ));
                }
            }
            place
                .check()
                .map_err(|m| DomainError::invalid("where", m))?;
            charter.check_positions("where", &place.coordinates)?;
            if description.trim().is_empty() {
                return Err(DomainError::invalid("description", "say what happened"));
            }
            check_text("description", description, MAX_TEXT)?;
            if links.len() > MAX_LINKS {
                return Err(DomainError::invalid(
                    "links",
                    format!("at most {MAX_LINKS}"),
                ));
            }
            for l in links {
                check_text("links", l, 200)?;
            }
            check_attachments(attachments)?;
            if *occurred_at > now.plus(Duration::from_mins(5)) {
                return Err(DomainError::invalid(
                    "when",
                    "an incident cannot be reported before it happens",
                ));
            }
            let mut parties = vec![party.to_string()];
            if let Some(a) = attributed_to {
                parties.push(a.clone());
            }
            Ok(vec![Draft::to_parties(
                state,
                &parties,
                EventBody::IncidentReported {
                    category: *category,
                    precedence: *precedence,
                    occurred_at: *occurred_at,
                    precision: *precision,
                    place: place.clone(),
                    description: description.clone(),
                    attributed_to: attributed_to.clone(),
                    links: links.clone(),
                    attachments: attachments.clone(),
                },
            )])
        }
        Command::CorrectIncident {
            incident: id,
            category,
            place,
            occurred_at,
            precision,
            reason,
        } => {
            let i = reported_by_caller(state, actor, *id, "correct")?;
            if category.is_none() && place.is_none() && occurred_at.is_none() && precision.is_none()
            {
                return Err(DomainError::invalid(
                    "correction",
                    "say what is corrected: the category, the place or the time",
                ));
            }
            if let Some(p) = place {
                p.check().map_err(|m| DomainError::invalid("where", m))?;
                if let Some(c) = state.charter() {
                    c.check_positions("where", &p.coordinates)?;
                }
            }
            if occurred_at.is_some_and(|t| t > now.plus(Duration::from_mins(5))) {
                return Err(DomainError::invalid(
                    "when",
                    "an incident cannot have happened after it is reported",
                ));
            }
            check_reason(reason)?;
            Ok(vec![Draft::to_parties(
                state,
                &i.parties(),
                EventBody::IncidentCorrected {
                    incident: *id,
                    category: *category,
                    place: place.clone(),
                    occurred_at: *occurred_at,
                    precision: *precision,
                    reason: reason.clone(),
                },
            )])
        }
        Command::WithdrawIncident {
            incident: id,
            reason,
        } => {
            let i = reported_by_caller(state, actor, *id, "withdraw")?;
            check_reason(reason)?;
            Ok(vec![Draft::to_parties(
                state,
                &i.parties(),
                EventBody::IncidentWithdrawn {
                    incident: *id,
                    reason: reason.clone(),
                },
            )])
        }
        Command::AcknowledgeIncident { incident: id } => {
            let i = incident_of(state, *id)?;
            let (_, party) = speaks_for_party(actor)?;
            if i.attributed_to.as_deref() != Some(party) {
                return Err(DomainError::forbidden(format!(
                    "incident {id} is not attributed to {party:?}"
                )));
            }
            if !i.is_open() {
                return Err(DomainError::InvalidState(format!(
                    "incident {id} is closed"
                )));
            }
            if i.acknowledged.contains_key(party) {
                return Err(DomainError::InvalidState(format!(
                    "incident {id} is already acknowledged by {party}"
                )));
            }
            Ok(vec![Draft::to_parties(
                state,
                &i.parties(),
                EventBody::IncidentAcknowledged { incident: *id },
            )])
        }
        Command::SubmitAccount {
            incident: id,
            text,
            disowned,
            answers,
            attachments,
        } => {
            let i = incident_of(state, *id)?;
            let (_, party) = speaks_for_party(actor)?;
            if !i.parties().iter().any(|p| p == party) {
                return Err(DomainError::forbidden(format!(
                    "party {party:?} is not named in incident {id}"
                )));
            }
            if !i.is_open() {
                return Err(DomainError::InvalidState(format!(
                    "incident {id} is closed"
                )));
            }
            if text.trim().is_empty() {
                return Err(DomainError::invalid("text", "the account is empty"));
            }
            check_text("text", text, MAX_TEXT)?;
            check_attachments(attachments)?;
            if *disowned && i.attributed_to.as_deref() != Some(party) {
                return Err(DomainError::invalid(
                    "disowned",
                    "only the party the incident is attributed to can say \"not ours\"",
                ));
            }
            if let Some(n) = answers {
                let ok = i
                    .info_requests
                    .iter()
                    .any(|r| r.number == *n && r.party == party);
                if !ok {
                    return Err(DomainError::invalid(
                        "answers",
                        format!("no request for information {n} to {party:?}"),
                    ));
                }
            }
            Ok(vec![Draft::to_parties(
                state,
                &i.parties(),
                EventBody::IncidentAccount {
                    incident: *id,
                    text: text.clone(),
                    disowned: *disowned,
                    answers: *answers,
                    attachments: attachments.clone(),
                },
            )])
        }
        Command::RequestInformation {
            incident: id,
            party,
            question,
            within,
        } => {
            require_supervisor(actor, "request information")?;
            let i = incident_of(state, *id)?;
            if !i.is_open() {
                return Err(DomainError::InvalidState(format!(
                    "incident {id} is closed"
                )));
            }
            if !i.parties().iter().any(|p| p == party) {
                return Err(DomainError::invalid(
                    "party",
                    format!("party {party:?} is not named in incident {id}"),
                ));
            }
            if question.trim().is_empty() {
                return Err(DomainError::invalid("question", "ask something"));
            }
            check_text("question", question, MAX_TEXT)?;
            if within.micros() <= 0 {
                return Err(DomainError::invalid("within", "must be positive"));
            }
            Ok(vec![Draft::to_parties(
                state,
                &i.parties(),
                EventBody::InformationRequested {
                    incident: *id,
                    party: party.clone(),
                    question: question.clone(),
                    within: *within,
                },
            )])
        }
        Command::RecordFinding { incident: id, text } => {
            require_supervisor(actor, "record a finding")?;
            let i = incident_of(state, *id)?;
            if !i.is_open() {
                return Err(DomainError::InvalidState(format!(
                    "incident {id} is closed"
                )));
            }
            if text.trim().is_empty() {
                return Err(DomainError::invalid("text", "the finding is empty"));
            }
            check_text("text", text, MAX_TEXT)?;
            Ok(vec![Draft::to_parties(
                state,
                &i.parties(),
                EventBody::FindingRecorded {
                    incident: *id,
                    text: text.clone(),
                },
            )])
        }
        Command::CloseIncident {
            incident: id,
            outcome,
            measures,
        } => {
            require_supervisor(actor, "close an incident")?;
            let i = incident_of(state, *id)?;
            if !i.is_open() {
                return Err(DomainError::InvalidState(format!(
                    "incident {id} is already closed"
                )));
            }
            check_text("measures", measures, MAX_TEXT)?;
            Ok(vec![Draft::to_parties(
                state,
                &i.parties(),
                EventBody::IncidentClosed {
                    incident: *id,
                    outcome: *outcome,
                    measures: measures.clone(),
                },
            )])
        }
        other => crate::intel::decide(state, actor, other, now),
    }
}

/// The open incident `id`, if the actor speaks for the party that reported it: only the
/// reporter corrects or withdraws its report.
fn reported_by_caller<'a>(
    state: &'a State,
    actor: &Actor,
    id: u64,
    what: &str,
) -> Result<&'a crate::incident::Incident, DomainError> {
    let i = incident_of(state, id)?;
    let (_, party) = speaks_for_party(actor)?;
    if i.reporter_party != party {
        return Err(DomainError::forbidden(format!(
            "only party {:?}, which reported incident {id}, may {what} its report",
            i.reporter_party
        )));
    }
    if !i.is_open() {
        return Err(DomainError::InvalidState(format!(
            "incident {id} is closed or withdrawn"
        )));
    }
    Ok(i)
}

fn check_reason(reason: &str) -> Result<(), DomainError> {
    if reason.trim().is_empty() {
        return Err(DomainError::invalid("reason", "say why"));
    }
    check_text("reason", reason, 2000)
}

/// Folds operational events into the state. Returns false for events it does not know.
pub(crate) fn apply(state: &mut State, event: &Event) -> bool {
    let at = event.at;
    let by = event.author.operator.as_str();
    let settings = state
        .charter()
        .map(|c| c.settings.clone())
        .unwrap_or_default();
    let second = settings.deadlines.second_level;
    match &event.body {
        EventBody::MessageSent {
            channel,
            channel_seq,
            to,
            precedence,
            subject,
            body,
            language,
            emergency,
            test,
            attachments,
        } => {
            state.hotline.channels.insert(channel.clone(), *channel_seq);
            let m = Message {
                id: event.seq,
                channel: channel.clone(),
                channel_seq: *channel_seq,
                from: event.author.party.clone(),
                author: by.to_string(),
                to: to.clone(),
                precedence: *precedence,
                subject: subject.clone(),
                body: body.clone(),
                language: language.clone(),
                emergency: *emergency,
                test: *test,
                attachments: attachments.clone(),
                sent_at: at,
                recipients: to
                    .iter()
                    .map(|p| (p.clone(), RecipientState::default()))
                    .collect(),
                translations: Vec::new(),
                closed: None,
            };
            let deadline = settings.deadlines.for_precedence(*precedence);
            for p in to {
                state.obligations.open(
                    ObligationKey::new(Duty::AcknowledgeMessage, event.seq.to_string(), p.clone()),
                    [event.author.party.clone()].into(),
                    at,
                    deadline,
                    second,
                );
            }
            state.hotline.messages.insert(event.seq, m);
        }
        EventBody::MessageDelivered { message, party } => {
            if let Some(r) = state
                .hotline
                .messages
                .get_mut(message)
                .and_then(|m| m.recipients.get_mut(party))
            {
                r.delivered_at.get_or_insert(at);
            }
        }
        EventBody::MessagesDelivered { messages, party } => {
            for id in messages {
                if let Some(r) = state
                    .hotline
                    .messages
                    .get_mut(id)
                    .and_then(|m| m.recipients.get_mut(party))
                {
                    r.delivered_at.get_or_insert(at);
                }
            }
        }
        EventBody::MessageRead { message, party } => {
            if let Some(r) = state
                .hotline
                .messages
                .get_mut(message)
                .and_then(|m| m.recipients.get_mut(party))
            {
                r.read_at.get_or_insert(at);
                r.read_by.get_or_insert_with(|| by.to_string());
            }
        }
        EventBody::MessageAcknowledged {
            message,
            party,
            reply,
        } => {
            if let Some(r) = state
                .hotline
                .messages
                .get_mut(message)
                .and_then(|m| m.recipients.get_mut(party))
            {
                r.acknowledged_at = Some(at);
                r.acknowledged_by = Some(by.to_string());
                r.reply = reply.clone();
            }
            state.obligations.meet(
                &ObligationKey::new(Duty::AcknowledgeMessage, message.to_string(), party.clone()),
                at,
                by,
            );
        }
        EventBody::MessageTranslated {
            message,
            language,
            text,
        } => {
            if let Some(m) = state.hotline.messages.get_mut(message) {
                m.translations.push(Translation {
                    language: language.clone(),
                    text: text.clone(),
                    by: by.to_string(),
                    party: event.author.party.clone(),
                    at,
                });
            }
        }
        EventBody::EmergencyClosed { message, reason } => {
            if let Some(m) = state.hotline.messages.get_mut(message) {
                m.closed = Some((at, by.to_string(), reason.clone()));
            }
        }
        EventBody::Escalated {
            duty,
            subject,
            party,
            level,
            ..
        } => {
            state.obligations.escalate(
                &ObligationKey::new(duty.clone(), subject.clone(), party.clone()),
                *level,
                at,
            );
        }
        EventBody::IncidentReported {
            category,
            precedence,
            occurred_at,
            precision,
            place,
            description,
            attributed_to,
            links,
            attachments,
        } => {
            if let Some(a) = attributed_to {
                state.obligations.open(
                    ObligationKey::new(Duty::AcknowledgeIncident, event.seq.to_string(), a.clone()),
                    [event.author.party.clone()].into(),
                    at,
                    settings.deadlines.for_precedence(*precedence),
                    second,
                );
            }
            state.incidents.insert(
                event.seq,
                Incident {
                    id: event.seq,
                    reporter_party: event.author.party.clone(),
                    reporter: by.to_string(),
                    reported_at: at,
                    category: *category,
                    precedence: *precedence,
                    occurred_at: *occurred_at,
                    precision: *precision,
                    place: place.clone(),
                    description: description.clone(),
                    attributed_to: attributed_to.clone(),
                    links: links.clone(),
                    attachments: attachments.clone(),
                    acknowledged: Default::default(),
                    accounts: Vec::new(),
                    info_requests: Vec::new(),
                    findings: Vec::new(),
                    closure: None,
                    corrections: Vec::new(),
                    withdrawal: None,
                },
            );
        }
        EventBody::IncidentAcknowledged { incident } => {
            let party = event.author.party.clone();
            let precedence = state.incidents.get(incident).map(|i| i.precedence);
            if let Some(i) = state.incidents.get_mut(incident) {
                i.acknowledged.insert(party.clone(), (at, by.to_string()));
            }
            let subject = incident.to_string();
            state.obligations.meet(
                &ObligationKey::new(Duty::AcknowledgeIncident, subject.clone(), party.clone()),
                at,
                by,
            );
            let gave_account = state.incidents.get(incident).is_some_and(|i| {
                i.accounts
                    .iter()
                    .any(|a| a.party == party && a.answers.is_none())
            });
            if let (Some(p), false) = (precedence, gave_account) {
                let waiting = state
                    .incidents
                    .get(incident)
                    .map(|i| [i.reporter_party.clone()].into())
                    .unwrap_or_default();
                state.obligations.open(
                    ObligationKey::new(Duty::GiveAccount, subject, party),
                    waiting,
                    at,
                    settings.deadlines.for_precedence(p),
                    second,
                );
            }
        }
        EventBody::IncidentAccount {
            incident,
            text,
            disowned,
            answers,
            attachments,
        } => {
            let party = event.author.party.clone();
            let subject = incident.to_string();
            if let Some(i) = state.incidents.get_mut(incident) {
                i.accounts.push(Account {
                    party: party.clone(),
                    operator: by.to_string(),
                    at,
                    text: text.clone(),
                    disowned: *disowned,
                    answers: *answers,
                    attachments: attachments.clone(),
                    seq: event.seq,
                });
                if let Some(n) = answers
                    && let Some(r) = i
                        .info_requests
                        .iter_mut()
                        .find(|r| r.number == *n && r.party == party)
                {
                    r.answered_at.get_or_insert(at);
                }
            }
            if let Some(n) = answers {
                state.obligations.meet(
                    &ObligationKey::new(
                        Duty::ProvideInformation,
                        format!("{incident}/{n}"),
                        party.clone(),
                    ),
                    at,
                    by,
                );
            }
            // An account also answers an acknowledgement still owed.
            state.obligations.meet(
                &ObligationKey::new(Duty::AcknowledgeIncident, subject.clone(), party.clone()),
                at,
                by,
            );
            state.obligations.meet(
                &ObligationKey::new(Duty::GiveAccount, subject, party),
                at,
                by,
            );
        }
        EventBody::InformationRequested {
            incident,
            party,
            question,
            within,
        } => {
            let supervisor = state.supervisor_party().cloned().unwrap_or_default();
            let mut number = 0;
            if let Some(i) = state.incidents.get_mut(incident) {
                number = i.info_requests.len() as u32 + 1;
                i.info_requests.push(InfoRequest {
                    number,
                    party: party.clone(),
                    question: question.clone(),
                    within: *within,
                    at,
                    answered_at: None,
                });
            }
            state.obligations.open(
                ObligationKey::new(
                    Duty::ProvideInformation,
                    format!("{incident}/{number}"),
                    party.clone(),
                ),
                [supervisor].into(),
                at,
                *within,
                second,
            );
        }
        EventBody::FindingRecorded { incident, text } => {
            if let Some(i) = state.incidents.get_mut(incident) {
                i.findings.push(Finding {
                    text: text.clone(),
                    by: by.to_string(),
                    at,
                });
            }
        }
        EventBody::IncidentClosed {
            incident,
            outcome,
            measures,
        } => {
            let mut requests = Vec::new();
            if let Some(i) = state.incidents.get_mut(incident) {
                i.closure = Some(Closure {
                    outcome: *outcome,
                    measures: measures.clone(),
                    by: by.to_string(),
                    at,
                });
                requests = i.info_requests.iter().map(|r| r.number).collect();
            }
            settle_incident(state, *incident, requests, at, by);
        }
        EventBody::IncidentCorrected {
            incident,
            category,
            place,
            occurred_at,
            precision,
            reason,
        } => {
            if let Some(i) = state.incidents.get_mut(incident) {
                let previous_occurred_at = (occurred_at.is_some() || precision.is_some())
                    .then_some((i.occurred_at, i.precision));
                i.corrections.push(crate::incident::Correction {
                    by: by.to_string(),
                    at,
                    reason: reason.clone(),
                    previous_category: category.map(|_| i.category),
                    previous_place: place.as_ref().map(|_| i.place.clone()),
                    previous_occurred_at,
                });
                if let Some(c) = category {
                    i.category = *c;
                }
                if let Some(p) = place {
                    i.place = p.clone();
                }
                if let Some(t) = occurred_at {
                    i.occurred_at = *t;
                }
                if let Some(p) = precision {
                    i.precision = *p;
                }
            }
        }
        EventBody::IncidentWithdrawn { incident, reason } => {
            let mut requests = Vec::new();
            if let Some(i) = state.incidents.get_mut(incident) {
                i.withdrawal = Some(crate::incident::Withdrawal {
                    by: by.to_string(),
                    at,
                    reason: reason.clone(),
                });
                requests = i.info_requests.iter().map(|r| r.number).collect();
            }
            settle_incident(state, *incident, requests, at, by);
        }
        _ => return crate::intel::apply(state, event),
    }
    true
}

/// What was still owed on an incident that is closed or withdrawn is settled: nothing
/// escalates after.
fn settle_incident(state: &mut State, incident: u64, requests: Vec<u32>, at: Timestamp, by: &str) {
    let subject = incident.to_string();
    state
        .obligations
        .meet_all(&Duty::AcknowledgeIncident, &subject, at, by);
    state
        .obligations
        .meet_all(&Duty::GiveAccount, &subject, at, by);
    for n in requests {
        state.obligations.meet_all(
            &Duty::ProvideInformation,
            &format!("{incident}/{n}"),
            at,
            by,
        );
    }
}
