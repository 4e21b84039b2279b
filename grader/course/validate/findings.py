"""What ``dlgrade validate`` reports: each thing to fix, with its file, question and line."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR, NOTE = "error", "note"


@dataclass(frozen=True)
class Finding:
    """One thing to fix (``error``) or to know (``note``), located in the assignment's sources."""

    file: str
    line: int
    message: str
    question: str | None = None
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        about = f"question {self.question}: " if self.question else ""
        return f"{where}: {about}{self.message}"


@dataclass
class Report:
    """Everything validate found about one assignment, in the order the steps ran."""

    assignment: str
    findings: list[Finding] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)   # "master: 30/30 through the sandbox" ...

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def text(self) -> str:
        lines = [f"{self.assignment}: " + ("valid" if self.ok else f"{len(self.errors)} thing(s) to fix")]
        lines += [f"  ok    {step}" for step in self.steps]
        lines += [f"  {f.severity:<5} {f}" for f in self.findings]
        return "\n".join(lines)
