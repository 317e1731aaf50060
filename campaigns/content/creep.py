"""The creep-factor check: texts that tell customers how closely they are watched, or guess at
something sensitive about them, read as surveillance and drive opt-outs.

Two kinds of finding, each explained:
- hyper-specific behaviour: "we saw you looked at this 7 times", exact counts and times of browsing;
- sensitive inferences: health, pregnancy, finances and debt, religion, sexuality, ethnicity.
The word lists below are the defaults; a store extends them (or silences a default) with
`CreepTerm` rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from campaigns.models.templates import CreepTerm
from customers.models import Store

C = CreepTerm.Category

MOMENT = (r"\b(?:at\s+\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|at\s+\d{1,2}:\d{2}|last night|"
          r"this morning|late at night|in the middle of the night)(?!\w)")
BROWSING = r"(?:look|view|brows|visit|search|saw|shopp|check(?:ed)? out)\w*"

# Behaviour patterns: (regex, explanation, suggestion); a named group "hit" narrows the passage.
BEHAVIOUR_PATTERNS: tuple[tuple[str, str, str], ...] = (
    (r"\b(?:we|i)(?:'ve| have)?\s+(?:saw|seen|noticed|notice|see|spotted|watched|tracked|know)\b",
     "Tells the customer they are being watched.",
     "Talk about the product, not about what you observed."),
    (r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|several|multiple|many)\s+times\b",
     "Quotes an exact count of the customer's behaviour.",
     "Drop the count: \"Still thinking about it?\" reads better."),
    (r"\byou(?:'ve| have)?\s+(?:looked at|viewed|browsed|visited|checked out|were looking at|"
     r"keep looking at|were browsing|were viewing|were shopping|searched for|searched|lingered|hovered|"
     r"zoomed|spent)\b",
     "Recounts what the customer did on the site.",
     "Refer to the item (\"{{ product_name }} is still available\") instead of their browsing."),
    (r"\b(?:\d+|a few|few)\s+(?:seconds|minutes)\s+ago\b",
     "Gives the exact moment of the customer's visit.",
     "Leave the timing out."),
    # A clock time or part of the day in the same sentence as browsing; only the time is reported.
    (rf"(?P<hit>{MOMENT})(?=[^.!?\n]*\b{BROWSING})|\b{BROWSING}[^.!?\n]*?(?P<hit2>{MOMENT})",
     "Gives the time the customer was browsing.",
     "Leave the time out."),
)

SENSITIVE_TERMS: dict[str, tuple[str, ...]] = {
    C.HEALTH: (
        "diabetes", "diabetic", "cancer", "depression", "depressed", "anxiety", "illness", "disease",
        "diagnosis", "diagnosed", "medication", "meds", "prescription", "therapy", "weight loss",
        "lose weight", "overweight", "obese", "acne", "hair loss", "balding", "erectile", "incontinence",
        "hiv", "std", "mental health", "eating disorder", "addiction", "rehab", "chronic pain",
    ),
    C.PREGNANCY: (
        "pregnant", "pregnancy", "expecting a baby", "you're expecting", "fertility", "ovulation",
        "trimester", "due date", "miscarriage", "ivf", "conceive", "conceiving", "baby bump",
    ),
    C.FINANCES: (
        "debt", "in debt", "loan", "payday", "credit score", "bad credit", "bankrupt", "bankruptcy",
        "broke", "overdraft", "can't afford", "cannot afford", "tight budget", "low income",
        "struggling financially", "money problems", "behind on bills", "debt collector", "in collections",
        "sent to collections",
    ),
    C.RELIGION: (
        "christian", "muslim", "jewish", "hindu", "buddhist", "sikh", "atheist", "your faith",
        "your religion", "church", "mosque", "synagogue", "temple", "ramadan", "kosher", "halal",
    ),
    C.SEXUALITY: (
        "gay", "lesbian", "bisexual", "queer", "lgbt", "lgbtq", "transgender", "sexual orientation",
        "coming out", "your sexuality",
    ),
    C.ETHNICITY: (
        "your ethnicity", "your race", "ethnic", "hispanic", "latino", "latina", "latinx",
        "african american", "people like you", "your heritage", "your skin tone",
    ),
    C.OTHER: (
        "divorce", "divorced", "breakup", "widow", "widowed", "funeral", "grief", "disability",
        "disabled", "criminal record", "immigration status", "your age",
    ),
}

SENSITIVE_EXPLANATIONS = {
    C.HEALTH: "Suggests you know or guessed something about the customer's health.",
    C.PREGNANCY: "Suggests you inferred a pregnancy or fertility from their shopping.",
    C.FINANCES: "Suggests you know about the customer's money troubles.",
    C.RELIGION: "Suggests you inferred the customer's religion.",
    C.SEXUALITY: "Suggests you inferred the customer's sexuality.",
    C.ETHNICITY: "Suggests you inferred the customer's ethnicity.",
    C.OTHER: "Suggests you inferred a sensitive life circumstance.",
}
SENSITIVE_SUGGESTION = "Say what the product does for anyone, not what you think is true of this customer."


@dataclass(frozen=True)
class Finding:
    category: str
    label: str
    phrase: str
    start: int
    end: int
    explanation: str
    suggestion: str

    def as_dict(self) -> dict[str, object]:
        return {
            "category": self.category, "label": self.label, "phrase": self.phrase,
            "start": self.start, "end": self.end,
            "explanation": self.explanation, "suggestion": self.suggestion,
        }


@lru_cache(maxsize=1024)
def _phrase_regex(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in phrase.lower().replace("\u2019", "'").split()]
    return re.compile(r"(?<![\w'])" + r"\s+".join(words) + r"(?![\w'])", re.IGNORECASE)


def word_lists(store: Store | None = None) -> dict[str, dict[str, str]]:
    """The sensitive phrases in force for a store, by category, each with its note: the defaults,
    plus the store's flags, minus the store's allows."""
    lists = {category: dict.fromkeys(terms, "") for category, terms in SENSITIVE_TERMS.items()}
    lists.setdefault(C.BEHAVIOUR, {})
    if store is not None and store.pk:
        for term in CreepTerm.objects.filter(store=store).only("category", "phrase", "action", "note"):
            phrase = term.phrase.strip().lower()
            if term.action == CreepTerm.Action.ALLOW:
                for terms in lists.values():
                    terms.pop(phrase, None)
            else:
                lists.setdefault(term.category, {})[phrase] = term.note
    return lists


def check(
    text: str, *, store: Store | None = None, lists: dict[str, dict[str, str]] | None = None
) -> list[Finding]:
    """Every creepy passage in `text`, in reading order. Pass `lists` to check many texts at once."""
    lists = lists if lists is not None else word_lists(store)
    plain = text.replace("’", "'")
    labels = dict(C.choices)
    findings = []
    for pattern, explanation, suggestion in BEHAVIOUR_PATTERNS:
        for m in re.finditer(pattern, plain, re.IGNORECASE):
            group = next((g for g in ("hit", "hit2") if g in m.re.groupindex and m.group(g)), 0)
            start, end = m.span(group)
            findings.append(Finding(C.BEHAVIOUR, labels[C.BEHAVIOUR], text[start:end],
                                    start, end, explanation, suggestion))
    for category, terms in lists.items():
        for phrase, note in sorted(terms.items()):
            explanation = note or SENSITIVE_EXPLANATIONS.get(category, "The store marked this as sensitive.")
            suggestion = "Leave the observation out." if category == C.BEHAVIOUR else SENSITIVE_SUGGESTION
            for m in _phrase_regex(phrase).finditer(plain):
                findings.append(Finding(category, labels.get(category, category), text[m.start():m.end()],
                                        m.start(), m.end(), explanation, suggestion))
    outside = _outside_links(plain, findings)
    return _without_overlaps(sorted(outside, key=lambda f: (f.start, -(f.end - f.start))))


# Links and dynamic fields are addresses, not words the customer reads: "/collections/sale" is no
# finding, nor is "{{ link }}".
LINK = re.compile(r"https?://\S+|www\.\S+|\b[\w-]+(?:\.[\w-]+)+/\S*|/[\w-]+(?:/[\w.-]*)+|\{\{.*?\}\}")


def _outside_links(text: str, findings: list[Finding]) -> list[Finding]:
    spans = [m.span() for m in LINK.finditer(text)]
    return [f for f in findings if not any(start < f.end and f.start < end for start, end in spans)]


def _without_overlaps(findings: list[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    for f in findings:
        if kept and f.start < kept[-1].end and f.category == kept[-1].category:
            continue
        kept.append(f)
    return kept
