from django.db import models


class SweepStep(models.Model):
    """What the governance sweep last did with one step, and who holds it now.

    A sweeper claims a step by a conditional update that sets claimed_until (a lease), so several
    sweepers on several hosts never run a step twice at once, and a sweeper that died mid-step
    leaves it to the next once the lease ends. These rows are the sweep's run log, like cron's:
    what the steps change is audited by the steps themselves, and a row a minute per step would
    bury the audit chain.
    """

    name = models.CharField(max_length=40, primary_key=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(null=True)
    output = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # The time the last successful run was due (its slot), which may be a little before it
    # started: the sweep notices a due step only on its next pass. The next run is due one
    # interval after the slot, so a daily step keeps its hour instead of moving on by up to
    # one sweep interval every day.
    slot_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def sweeper(self) -> str:
        """The host and process that claimed it last, without the claim's random part."""
        return self.claimed_by.rsplit(":", 1)[0]
