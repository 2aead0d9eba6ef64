"""`python -m rasa_changes`: check the installed Rasa and print the list of changes
as the Markdown table in docs/rasa-changes.md."""

from __future__ import annotations

from rasa_changes import CHANGES, check_rasa


def markdown_table() -> str:
    rows = [
        "| change | kind | where | replaces | why | tested by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for change in CHANGES:
        tested = ", ".join(f"`{path}`" for path in change.tested_by)
        rows.append(
            f"| {change.name} | {change.kind} | `{change.where}` | "
            f"{change.replaces} | {change.why} | {tested} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    check_rasa()
    print(markdown_table())
