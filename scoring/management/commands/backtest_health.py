"""manage.py backtest_health [--version N] [--horizon 90] [--from D --to D] [--json]: does the score predict churn?"""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from core.numbers import whole
from scoring import backtest
from scoring.models import HealthModel, HealthModelVersion


def _date(value: str | None, option: str) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date in YYYY-MM-DD form") from None


def _share(value: float | None) -> str:
    return "–" if value is None else f"{whole(100 * value)}%"


class Command(BaseCommand):
    help = (
        "Back-test a health model version on its stored snapshots: on weekly days, do accounts that churn within "
        "the horizon score lower? Prints the AUC with a 95% interval, churn per band, lead time and calibration "
        "(the README defines each)."
    )

    def add_base_argument(self, parser, *args, **kwargs):
        """--version here names the model version, not Django's."""
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", type=int, help="Version number of the model (default: its current one).")
        parser.add_argument("--model", help="Model name (default: the default model).")
        parser.add_argument("--horizon", type=int, default=backtest.HORIZON_DAYS, help="Days (default 90).")
        parser.add_argument("--from", dest="start", help="First evaluation day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", help="Last evaluation day (default: the history minus the horizon).")
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args, version, model, horizon, start, end, json: bool, **options):
        start, end = _date(start, "--from"), _date(end, "--to")
        if horizon < 1:
            raise CommandError("--horizon must be at least 1 day.")
        if start and end and start > end:
            raise CommandError("--from must not be after --to.")
        tested = self._version(model, version)
        result = backtest.backtest_stored(tested, horizon=horizon, start=start, end=end)
        if json:
            self.stdout.write(_json_dumps(result))
        else:
            self._print(result)

    def _version(self, name: str | None, number: int | None) -> HealthModelVersion:
        models = HealthModel.objects.all()
        found = models.filter(name=name).first() if name else models.filter(segment="").first()
        if found is None:
            raise CommandError(f"There is no health model named {name!r}.")
        if number is None:
            if found.current_version is None:
                raise CommandError(f"{found.name} has no version yet.")
            return found.current_version
        version = found.versions.filter(number=number).first()
        if version is None:
            raise CommandError(f"{found.name} has no version {number}.")
        return version

    def _print(self, result: dict) -> None:
        write = self.stdout.write
        write(
            f"{result['model']} v{result['version']}, horizon {result['horizon_days']} days, "
            f"{result['from']} to {result['to']}: {len(result['days'])} weekly days"
        )
        write(
            f"  {result['cases']:,} cases ({result['positives']:,} churned within the horizon, "
            f"{result['churned_accounts']:,} accounts); {result['not_enough_data']:,} with not enough data"
        )
        if result["auc"] is None:
            write(f"  AUC: not enough churn to tell (fewer than {backtest.MIN_POSITIVES} churned cases)")
        else:
            write(f"  AUC: {result['auc']:.2f} (95% interval {result['auc_low']:.2f}–{result['auc_high']:.2f})")
        for band, figures in result["bands"].items():
            write(
                f"  {band.title()}: {figures['churned']:,} of {figures['cases']:,} churned ({_share(figures['rate'])})"
            )
        lead = result["lead_time"]
        median = lead["median_days"]
        write(
            f"  Lead time: median {'–' if median is None else f'{whole(median)} days'} over {lead['flagged']} of "
            f"{lead['churned_accounts']} churned accounts that entered red; red "
            + ", ".join(f"{days} days before: {_share(share)}" for days, share in lead["red_before"].items())
        )


def _json_dumps(result: dict) -> str:
    return json.dumps(result, indent=2)
