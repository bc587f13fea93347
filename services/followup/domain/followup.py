"""What happens after the department resolves a request: the result goes back to the
person, the person rates it (or does not answer), unsatisfied reopens it (up to a limit,
then the supervisors take it up), return visits check the result, and it is closed.
Pure code: commands in, events out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from shared.events.catalogue import (
    Channel,
    EventData,
    NotificationRequested,
    Rating,
    RequestClosed,
    RequestFeedbackGiven,
    RequestRated,
    RequestReopened,
    RequestRevisited,
)
from shared.lifecycle import State, next_state

SATISFIED = frozenset({"satisfied", "basically_satisfied"})
# Which 1–5 scores go with which rating (docs/followup.md): a `satisfied` with a 1 is a
# contradiction and is refused, not guessed at. `no_response` carries no score.
SCORES_FOR_RATING: dict[str, frozenset[int]] = {
    "satisfied": frozenset({4, 5}),
    "basically_satisfied": frozenset({3, 4}),
    "unsatisfied": frozenset({1, 2}),
    "no_response": frozenset(),
}


def score_contradiction(rating: str, score: int | None) -> str | None:
    """Why the score does not go with the rating, or None if it does (or is not given)."""
    if score is None:
        return None
    allowed = SCORES_FOR_RATING.get(rating, frozenset())
    if score in allowed:
        return None
    if not allowed:
        return f"a {rating} rating carries no score"
    scores = " or ".join(map(str, sorted(allowed)))
    return f"score {score} does not go with a {rating} rating (it goes with {scores})"


class NotSurveyed(Exception):
    """Anonymous requests get no reply, no rating, no revisit."""


@dataclass(frozen=True)
class FollowupPolicy:
    max_reopens: int = 2  # after this many, unsatisfied goes to the supervisors instead
    survey_working_days: int = 3  # no answer by then is recorded as no_response
    revisit_working_days: int = 3
    revisit_sample_rate: float = 0.2  # of requests that are neither complaints nor unsatisfied
    sample_seed: str = "revisit-2026"


def needs_revisit(
    category: str, rating: str | None, request_id: str, policy: FollowupPolicy, owed: bool = False
) -> bool:
    """Always for complaints and unsatisfied ratings (also once a request reopened for one is
    rated again); otherwise a deterministic sample."""
    if category == "complaint" or rating == "unsatisfied" or owed:
        return True
    digest = hashlib.sha256(f"{policy.sample_seed}:{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < policy.revisit_sample_rate


@dataclass(frozen=True)
class Followup:
    request_id: str
    state: State
    channel: Channel
    anonymous: bool
    category: str = "consultation"
    lead_department: str | None = None
    reopen_count: int = 0
    rating: str | None = None
    escalated: bool = False
    reply: str | None = None  # the department's reply at resolution
    revisit_owed: bool = False  # unsatisfied and reopened: visit once handled again

    def following(self, state: State, lead_department: str | None = None) -> Followup:
        """Another service moved the request on (to a department, when routed)."""
        return replace(self, state=state, lead_department=lead_department or self.lead_department)

    def revisit_scheduled(self) -> Followup:
        """The return visit owed for an unsatisfied rating is scheduled: owed no more."""
        return replace(self, revisit_owed=False)

    def feedback_text(self, message: str | None) -> str:
        """What the person is told: the feedback's own text, else the reply recorded when
        the department resolved it."""
        return (message or "").strip() or (self.reply or "").strip()

    def give_feedback(self, by: str) -> tuple[Followup, EventData]:
        state = next_state(self.state, RequestFeedbackGiven)
        return replace(self, state=state), RequestFeedbackGiven(
            channel=self.channel, by=by, department=self.lead_department
        )

    def rate(
        self,
        rating: Rating,
        score: int | None,
        comment: str | None,
        reason: str | None,
        policy: FollowupPolicy = FollowupPolicy(),
    ) -> tuple[Followup, list[EventData]]:
        if self.anonymous:
            raise NotSurveyed(self.request_id)
        state = next_state(self.state, RequestRated)
        events: list[EventData] = [RequestRated(rating=rating, score=score, comment=comment)]
        updated = replace(self, state=state, rating=rating)
        if rating == "unsatisfied":
            return self._unsatisfied(
                updated, events, reason or comment or "the person is not satisfied", policy
            )
        return updated, events

    def _unsatisfied(
        self, updated: Followup, events: list[EventData], reason: str, policy: FollowupPolicy
    ) -> tuple[Followup, list[EventData]]:
        if self.reopen_count >= policy.max_reopens or not self.lead_department:
            # Reopened often enough: the supervisors take it up (督办) instead of a new round.
            events.append(
                NotificationRequested(
                    template="reopen_limit_reached",
                    params={"reopens": self.reopen_count, "reason": reason},
                    audience=["supervisors"],
                    department=self.lead_department,
                )
            )
            return replace(updated, escalated=True), events
        # Unsatisfied: back to the same lead department with the person's reason.
        reopened = replace(
            updated,
            state=next_state(updated.state, RequestReopened),
            reopen_count=self.reopen_count + 1,
            revisit_owed=True,  # a return visit is due for every unsatisfied result
        )
        events.append(
            RequestReopened(
                department=self.lead_department, reason=reason, reopen_count=reopened.reopen_count
            )
        )
        # The person (and the first responder) hear that it is handled again, and by whom.
        events.append(
            NotificationRequested(
                template="request_reopened",
                params={"reason": reason, "reopen_count": reopened.reopen_count},
                audience=["first_responder"] if self.anonymous else ["requester", "first_responder"],
                department=self.lead_department,
            )
        )
        return reopened, events

    def no_response(self) -> tuple[Followup, EventData]:
        """The survey went unanswered: recorded as such, never as satisfied."""
        state = next_state(self.state, RequestRated)
        return replace(self, state=state, rating="no_response"), RequestRated(rating="no_response")

    def revisited(
        self, revisit_id: str, outcome: str, notes: str | None, policy: FollowupPolicy = FollowupPolicy()
    ) -> tuple[Followup, list[EventData]]:
        state = next_state(self.state, RequestRevisited)
        events: list[EventData] = [RequestRevisited(revisit_id=revisit_id, outcome=outcome)]  # type: ignore[arg-type]
        updated = replace(self, state=state)
        if outcome == "recurred":
            # The result did not hold: overturned, and the request is handled again.
            return self._unsatisfied(updated, events, notes or "the problem came back (return visit)", policy)
        return updated, events

    def can_close_by_itself(self, revisit_pending: bool) -> bool:
        """Closed on its own once rated satisfied (or no answer) with no revisit pending, or
        after a return visit that found it solved or could not reach the person."""
        if revisit_pending or self.escalated:
            return False
        if self.state == State.RATED:
            return self.rating in SATISFIED or self.rating == "no_response"
        return self.state == State.REVISITED

    def close(self, reason: str) -> tuple[Followup, EventData]:
        state = next_state(self.state, RequestClosed)
        return replace(self, state=state), RequestClosed(reason=reason)
