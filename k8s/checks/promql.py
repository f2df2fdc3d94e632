"""Metric names, label matchers and grouping labels of a PromQL expression.

A small tokenizer and a walk over its tokens, not a regex over the text: an
identifier is a metric name only where PromQL reads one, so label names inside
`{...}`, label lists after by/without/on/ignoring/group_left/group_right,
function and aggregation names, keywords (and, or, unless, bool, offset, ...),
durations inside `[...]` and strings are all skipped. `{__name__="x"}` names
metric x. Grafana's variables ($__rate_interval, ${var}, $var) are read where
they may stand (ranges, label values) so dashboard queries parse too.

    >>> sorted(metric_names('sum by (le) (rate(a_bucket{job="x"}[5m])) / on (pod) group_left b'))
    ['a_bucket', 'b']
"""

from __future__ import annotations

import dataclasses
import re

# PromQL's functions (Prometheus 2.x/3.x) and aggregation operators.
FUNCTIONS = frozenset("""
abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp
clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month
deg delta deriv double_exponential_smoothing exp floor histogram_avg histogram_count
histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum
holt_winters hour idelta increase info irate label_join label_replace last_over_time ln log10
log2 mad_over_time max_over_time min_over_time minute month predict_linear present_over_time
quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label
sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time
timestamp vector year limitk limit_ratio
""".split())
AGGREGATIONS = frozenset(
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio".split()
)
SET_OPERATORS = frozenset("and or unless".split())
# Keywords followed by a parenthesised label list.
LABEL_LIST_KEYWORDS = frozenset("by without on ignoring group_left group_right".split())
OTHER_KEYWORDS = frozenset("bool offset atan2".split())
NUMBER_WORDS = frozenset("inf nan".split())
# Series Prometheus makes itself for every target, never exported by a binary.
SYNTHETIC = frozenset(
    "up scrape_duration_seconds scrape_samples_scraped scrape_samples_post_metric_relabeling "
    "scrape_series_added ALERTS ALERTS_FOR_STATE".split()
)


class PromQLError(ValueError):
    """The expression cannot be tokenized or read."""


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str  # ident, number, duration, string, op, lbrace, rbrace, lparen, rparen, lbracket, rbracket, comma, var
    text: str
    pos: int


@dataclasses.dataclass(frozen=True)
class Matcher:
    metric: str | None  # the selector's metric name (None for a bare {..} selector)
    label: str
    op: str
    value: str


@dataclasses.dataclass
class Analysis:
    metrics: set[str] = dataclasses.field(default_factory=set)
    # {__name__=~"re"} selectors: the regex, to be matched against exported names.
    name_regexes: set[str] = dataclasses.field(default_factory=set)
    matchers: list[Matcher] = dataclasses.field(default_factory=list)
    # Labels named in by/without/on/ignoring/group_* lists.
    grouping_labels: set[str] = dataclasses.field(default_factory=set)
    functions: set[str] = dataclasses.field(default_factory=set)


_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DURATION = re.compile(r"(?:\d+(?:ms|[smhdwy]))+")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_VAR = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]")
_OPS = ("==", "!=", ">=", "<=", "=~", "!~", "+", "-", "*", "/", "%", "^", ">", "<", "=", "@")
_PUNCT = {"{": "lbrace", "}": "rbrace", "(": "lparen", ")": "rparen", "[": "lbracket", "]": "rbracket", ",": "comma"}


def tokenize(expr: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":  # comment to end of line
            while i < n and expr[i] != "\n":
                i += 1
            continue
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            if j >= n:
                raise PromQLError(f"unterminated string at {i}")
            tokens.append(Token("string", expr[i + 1 : j], i))
            i = j + 1
            continue
        if c in _PUNCT:
            tokens.append(Token(_PUNCT[c], c, i))
            i += 1
            continue
        m = _VAR.match(expr, i)
        if m:
            tokens.append(Token("var", m.group(0), i))
            i = m.end()
            continue
        m = _DURATION.match(expr, i)
        if m and not (m.end() < n and (expr[m.end()].isalnum() or expr[m.end()] == "_")):
            tokens.append(Token("duration", m.group(0), i))
            i = m.end()
            continue
        m = _NUMBER.match(expr, i)
        if m and m.group(0):
            tokens.append(Token("number", m.group(0), i))
            i = m.end()
            continue
        m = _IDENT.match(expr, i)
        if m:
            tokens.append(Token("ident", m.group(0), i))
            i = m.end()
            continue
        for op in _OPS:
            if expr.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            raise PromQLError(f"unexpected character {c!r} at {i}")
    return tokens


def analyse(expr: str) -> Analysis:
    """Reads every metric name, matcher and grouping label of `expr`."""
    tokens = tokenize(expr)
    out = Analysis()
    i, n = 0, len(tokens)

    def expect(k: int, kind: str) -> None:
        if k >= n or tokens[k].kind != kind:
            got = tokens[k].text if k < n else "end of expression"
            raise PromQLError(f"expected {kind} at token {k}, got {got!r}")

    def label_list(k: int) -> int:
        """Reads `( label, ... )` from tokens[k]; returns the index after it."""
        expect(k, "lparen")
        k += 1
        while k < n and tokens[k].kind != "rparen":
            t = tokens[k]
            if t.kind == "ident":
                if not _LABEL.fullmatch(t.text):
                    raise PromQLError(f"bad label name {t.text!r}")
                out.grouping_labels.add(t.text)
            elif t.kind != "comma":
                raise PromQLError(f"unexpected {t.text!r} in a label list")
            k += 1
        expect(k, "rparen")
        return k + 1

    def matchers(k: int, metric: str | None) -> int:
        """Reads `{ label op "value", ... }` from tokens[k]; returns the index after it."""
        expect(k, "lbrace")
        k += 1
        while k < n and tokens[k].kind != "rbrace":
            if tokens[k].kind == "comma":
                k += 1
                continue
            if tokens[k].kind == "string":  # Prometheus 3 quoted metric name: {"name"}
                out.metrics.add(tokens[k].text)
                k += 1
                continue
            expect(k, "ident")
            label = tokens[k].text
            if k + 2 >= n or tokens[k + 1].kind != "op" or tokens[k + 1].text not in ("=", "!=", "=~", "!~"):
                raise PromQLError(f"expected a matcher operator after label {label!r}")
            op = tokens[k + 1].text
            value_token = tokens[k + 2]
            if value_token.kind not in ("string", "var"):
                raise PromQLError(f"expected a string value for label {label!r}")
            if label == "__name__":
                if op == "=":
                    out.metrics.add(value_token.text)
                elif op == "=~":
                    out.name_regexes.add(value_token.text)
            else:
                out.matchers.append(Matcher(metric, label, op, value_token.text))
            k += 3
        expect(k, "rbrace")
        return k + 1

    while i < n:
        t = tokens[i]
        if t.kind == "lbracket":  # range or subquery: durations, numbers, variables, ':'
            depth = 1
            i += 1
            while i < n and depth:
                if tokens[i].kind == "lbracket":
                    depth += 1
                elif tokens[i].kind == "rbracket":
                    depth -= 1
                i += 1
            if depth:
                raise PromQLError("unterminated [")
            continue
        if t.kind == "lbrace":  # selector without a metric name
            i = matchers(i, None)
            continue
        if t.kind != "ident":
            i += 1
            continue
        word = t.text
        lower = word.lower()
        nxt = tokens[i + 1] if i + 1 < n else None
        prev = tokens[i - 1] if i > 0 else None
        if lower in LABEL_LIST_KEYWORDS:
            # group_left/group_right may stand without a list.
            if nxt is not None and nxt.kind == "lparen":
                i = label_list(i + 1)
            else:
                if lower not in ("group_left", "group_right"):
                    raise PromQLError(f"{word} needs a label list")
                i += 1
            continue
        if lower in SET_OPERATORS or lower in OTHER_KEYWORDS or lower in NUMBER_WORDS:
            i += 1
            continue
        if prev is not None and prev.kind == "op" and prev.text == "@" and lower in ("start", "end"):
            i += 1
            continue
        if word in AGGREGATIONS and nxt is not None and (
            nxt.kind == "lparen" or (nxt.kind == "ident" and nxt.text in ("by", "without"))
        ):
            out.functions.add(word)
            i += 1
            continue
        if nxt is not None and nxt.kind == "lparen":
            if word not in FUNCTIONS:
                raise PromQLError(f"unknown function {word!r}")
            out.functions.add(word)
            i += 1
            continue
        # A metric name, maybe with matchers.
        out.metrics.add(word)
        i += 1
        if i < n and tokens[i].kind == "lbrace":
            i = matchers(i, word)
    return out


def metric_names(expr: str) -> set[str]:
    return analyse(expr).metrics


def grafana_to_promql(expr: str) -> str:
    """Substitutes Grafana's variables so a dashboard query is plain PromQL."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
    expr = re.sub(r"\$\{__[a-z_]+\}", "1m", expr)
    return re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]", "x", expr)


def grafana_variable_query(query: str) -> str | None:
    """The PromQL inside a Grafana variable query (label_values(expr, label),
    query_result(expr), metrics(...)); None when it holds none."""
    query = query.strip()
    m = re.fullmatch(r"label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", query, re.S)
    if m:
        return m.group(1)
    if re.fullmatch(r"label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", query):
        return None
    m = re.fullmatch(r"query_result\((.*)\)", query, re.S)
    if m:
        return m.group(1)
    if query.startswith("metrics(") or query.startswith("label_names("):
        return None
    return query
