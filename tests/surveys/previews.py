"""What a campaign preview leaves out, as (label, count) pairs, for tests that check only the numbers."""


def left_out_counts(preview) -> list[tuple[str, int]]:
    return [(item.label, item.count) for item in preview.left_out]
