"""What happens after the department resolves a request: the result goes back to the
person, the person rates it, unsatisfied reopens it, and it is closed. Pure code."""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.events.catalogue import (
    Channel,
    EventData,
    Rating,
    RequestClosed,
    RequestFeedbackGiven,
    RequestRated,
    RequestReopened,
)
from shared.lifecycle import State, next_state


class NotSurveyed(Exception):
    """Anonymous requests get no reply, no rating, no revisit."""


@dataclass(frozen=True)
class Followup:
    request_id: str
    state: State
    channel: Channel
    anonymous: bool
    lead_department: str | None = None
    reopen_count: int = 0

    def give_feedback(self, by: str) -> tuple[Followup, EventData]:
        state = next_state(self.state, "request.feedback_given")
        return replace(self, state=state), RequestFeedbackGiven(
            channel=self.channel,
            by=by,
            department=self.lead_department,
        )

    def rate(
        self, rating: Rating, score: int | None, comment: str | None, reason: str | None
    ) -> tuple[Followup, list[EventData]]:
        if self.anonymous:
            raise NotSurveyed(self.request_id)
        state = next_state(self.state, "request.rated")
        events: list[EventData] = [RequestRated(rating=rating, score=score, comment=comment)]
        updated = replace(self, state=state)
        if rating == "unsatisfied" and self.lead_department:
            # Unsatisfied: back to the same lead department with the person's reason.
            updated = replace(
                updated, state=next_state(state, "request.reopened"), reopen_count=self.reopen_count + 1
            )
            events.append(
                RequestReopened(
                    department=self.lead_department,
                    reason=reason or comment or "the person is not satisfied",
                    reopen_count=updated.reopen_count,
                )
            )
        return updated, events

    def close(self, reason: str) -> tuple[Followup, EventData]:
        state = next_state(self.state, "request.closed")
        return replace(self, state=state), RequestClosed(reason=reason)
