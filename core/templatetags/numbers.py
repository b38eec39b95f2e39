"""Template filters for shown figures, all through core.numbers (half away from zero)."""

from django import template

from core import numbers

register = template.Library()


def _or_dash(format_value):
    def shown(value):
        return "—" if value is None or value == "" else format_value(value)

    shown.__doc__ = format_value.__doc__
    return shown


register.filter("whole", _or_dash(numbers.whole))
register.filter("signed", _or_dash(numbers.signed))
register.filter("percent", _or_dash(numbers.percent))
register.filter("mean", _or_dash(numbers.mean))
register.filter("plain", _or_dash(numbers.plain))
register.filter("share", _or_dash(numbers.share))  # a 0-1 rate: "18.3%"
register.filter("hundredths", _or_dash(lambda value: numbers.fixed(value, 2)))  # an AUC: "0.78"
register.filter("amount", _or_dash(lambda value: numbers.fixed(value, 0)))  # ARR and other money: "925,000"
