"""The rule query language's syntax: its token kinds, the lexer and the parser that builds the tree.

Syntax (operators are upper-case; everything else is case-insensitive and accent-folded):

    gpu                      a word; plurals and -ed/-ing forms match too ("leases", "leasing")
    "data center"            a phrase: the words in this order, adjacent
    gigawatt*   "data cent*" a prefix wildcard, alone or as a phrase word (at least 2 letters)
    a b, a AND b             both (AND is implicit)
    a OR b                   either; AND binds tighter than OR: `a OR b c` is `a OR (b AND c)`
    NOT a, -a                exclusion
    ( ... )                  grouping
    title:a  title:(a OR b)  field scope: title, summary, text, source, url, author, category
    NEAR/5(lease "data center")   every operand within 5 words of the others, in any order;
                             operands are words, phrases, wildcards, quantity comparisons (a
                             figure counts as its words: "18,000 GB300 chips" is four), @names
                             whose definition lists such alternatives, or (x OR y) groups of them:
                             NEAR/6(chips>=1000 @acquire), NEAR/2(amount<=5000 off)
    PRE/2(for @ai_lab)       as NEAR, with the operands in the order written: "for Anthropic",
                             not "Anthropic for"
    /gb[23]00/               a regular expression (RE2 syntax, no backtracking) on the folded field
    power>=100MW  amount>=1B  chips>=10k    quantity comparisons (>, >=, <, <=, =)
    @name                    a named sub-query from the rule file's [define] table

The language is the product's own edge (field scopes, quantities, scoring tiers), so the parser is
hand-written: a small recursive-descent parser whose errors name the column and what was expected.
It recurses once per level of nesting, and so does everything that walks the tree it builds
(matching, the prefilter, explanations, pickling a rule set); a query may therefore nest at most
MAX_NESTING levels, each '(' (also a NEAR's and a group's inside NEAR), NOT or '-', and @name
counting one, with the levels of a @name's definition added where it is used. That is checked
while parsing, long before Python's recursion limit, so a query nested too deep (300 parentheses,
a [define] chain of 250 names) is a QuerySyntaxError (NestingTooDeep) like any other.
The tree's nodes and how they match are in bot/matcher/nodes.py and bot/matcher/leaves.py;
`parse_query` is the entry point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import re2

from bot.matcher.leaves import AnyOf, Near, QuantityCompare, QuantityName, Regex
from bot.matcher.nodes import FIELD_ALIASES, FIELDS, And, Leaf, Node, Not, Or, Phrase, Prefix, Word
from bot.text.tokens import fold, normal_form, tokenize


class QuerySyntaxError(Exception):
    """A query error at a 1-based column; the rule loader adds the file and rule name."""

    def __init__(self, column: int, expected: str, got: str) -> None:
        super().__init__(f"column {column}: expected {expected}, got {got}")
        self.column = column
        self.expected = expected
        self.got = got


# The deepest nesting a query may have. The default rules nest at most 10 levels (@names
# included); 64 leaves a wide margin for hand-written rules and keeps every walk of the tree below
# Python's recursion limit of 1,000 frames: at 64 levels of `(a OR b (...))`, two nodes a level,
# pickling a rule set takes some 650 frames, matching 400, parsing 280 (measured on Python 3.11).
MAX_NESTING = 64


class NestingTooDeep(QuerySyntaxError):
    """A query (or the definitions it uses) nesting deeper than MAX_NESTING levels."""

    def __init__(self, column: int, through: str = "") -> None:
        super().__init__(
            column,
            f"at most {MAX_NESTING} levels of nesting (each '(', NOT, '-' and @name is one)",
            "a query that nests deeper" + (f" (through {through})" if through else ""),
        )


# @names already parsed, by name (prefixed "near:" for a NEAR operand) and field: the node, and
# the levels of nesting it spans where it is used (its @name included).
Expansions = dict[tuple[str, str | None], tuple[Node, int]]


class TokenKind(StrEnum):
    """The kinds of token of the query language; the operator words' kinds are their own names
    in lower case (`TokenKind("and")`)."""

    WORD = "word"  # a word, possibly with a trailing '*' or inner '-'
    PHRASE = "phrase"  # "..." (value: the text between the quotes)
    REGEX = "regex"  # /.../ (value: the expression)
    QUANTITY = "quantity"  # power>=100MW
    FIELD = "field"  # title: (value: the field's name)
    NEAR = "near"  # NEAR/5 or PRE/5 (value: the distance)
    MACRO = "macro"  # @name (value: the name)
    LPAREN = "lparen"
    RPAREN = "rparen"
    AND = "and"
    OR = "or"
    NOT = "not"
    MINUS = "minus"  # '-' before a term: NOT


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    column: int
    value: str = ""


_DELIMITERS = frozenset(' \t\r\n()"')
_NEAR = re.compile(r"(NEAR|PRE)/(\d+)")
_QUANTITY = re.compile(r"([A-Za-z]+)(>=|<=|>|<|=)(.*)")
_QUANTITY_NAMES: dict[str, QuantityName] = {
    "power": "power",
    "amount": "money",
    "money": "money",
    "value": "money",
    "chips": "chips",
    "gpus": "chips",
}
_MONEY_VALUE = re.compile(
    r"(?:us\$|\$|€|£|usd|eur|gbp)?(\d+(?:\.\d+)?)(k|m|mn|b|bn|t|tn|thousand|million|billion|trillion)?",
    re.IGNORECASE,
)
_POWER_VALUE = re.compile(r"(\d+(?:\.\d+)?)(kw|mw|gw|tw)?", re.IGNORECASE)
_COUNT_VALUE = re.compile(r"(\d+(?:\.\d+)?)(k|m|thousand|million)?", re.IGNORECASE)
_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
}
_POWER_SCALE = {"kw": 1e-3, "mw": 1.0, "gw": 1e3, "tw": 1e6}


def _show(text: str) -> str:
    return f"'{text}'"


def lex(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    length = len(query)
    while i < length:
        ch = query[i]
        column = i + 1
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(Token(TokenKind.LPAREN, ch, column))
            i += 1
        elif ch == ")":
            tokens.append(Token(TokenKind.RPAREN, ch, column))
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError(column, "a closing '\"' for this phrase", "end of query")
            tokens.append(
                Token(TokenKind.PHRASE, query[i : close + 1], column, query[i + 1 : close])
            )
            i = close + 1
        elif ch == "/":
            j = i + 1
            while j < length and query[j] != "/":
                j += 2 if query[j] == "\\" else 1
            if j >= length:
                raise QuerySyntaxError(
                    column, "a closing '/' for this regular expression", "end of query"
                )
            tokens.append(
                Token(
                    TokenKind.REGEX, query[i : j + 1], column, query[i + 1 : j].replace("\\/", "/")
                )
            )
            i = j + 1
        elif ch == "-" and (i + 1 >= length or query[i + 1].isspace()):
            raise QuerySyntaxError(
                column, "a term right after '-'", "a space" if i + 1 < length else "end of query"
            )
        elif ch == "-":
            tokens.append(Token(TokenKind.MINUS, ch, column))
            i += 1
        else:
            j = i
            while j < length and query[j] not in _DELIMITERS:
                j += 1
            word = query[i:j]
            i = j
            tokens.extend(_classify(word, column))
    return tokens


def _classify(word: str, column: int) -> list[Token]:
    """The tokens of one word: after a field prefix (`title:`), the rest is classified in turn,
    in a loop rather than by recursion (`title:title:...` is the parser's error to report)."""
    tokens: list[Token] = []
    while True:
        token, rest = _classify_head(word, column)
        tokens.append(token)
        if not rest:
            return tokens
        column += len(word) - len(rest)
        word = rest


def _classify_head(word: str, column: int) -> tuple[Token, str]:
    """The first token of a word, and the rest of the word after it (after a field prefix)."""
    if word in ("AND", "OR", "NOT"):
        return Token(TokenKind(word.lower()), word, column), ""
    near = _NEAR.fullmatch(word)
    if near:
        return Token(TokenKind.NEAR, word, column, near.group(2)), ""
    for operator_name in ("NEAR", "PRE"):
        if word == operator_name or word.startswith(operator_name + "/"):
            raise QuerySyntaxError(column, f"{operator_name}/<number> followed by (", _show(word))
    if word.startswith("@"):
        return Token(TokenKind.MACRO, word, column, word[1:]), ""
    if word[0] in "<>=":
        raise QuerySyntaxError(
            column, "a term (write comparisons without spaces, as in power>=100MW)", _show(word)
        )
    quantity = _QUANTITY.fullmatch(word)
    if quantity and quantity.group(1).lower() in _QUANTITY_NAMES:
        return Token(TokenKind.QUANTITY, word, column), ""
    if quantity:
        raise QuerySyntaxError(
            column, "a quantity name (power, amount, chips) before the comparison", _show(word)
        )
    colon = word.find(":")
    if colon > 0:
        name = word[:colon].lower()
        name = FIELD_ALIASES.get(name, name)
        if name not in FIELDS:
            raise QuerySyntaxError(
                column, f"a field ({', '.join(FIELDS)})", _show(word[: colon + 1])
            )
        return Token(TokenKind.FIELD, word[: colon + 1], column, name), word[colon + 1 :]
    return Token(TokenKind.WORD, word, column), ""


class Parser:
    """Recursive descent over the tokens of one query; `macros` maps @names to query text."""

    def __init__(
        self,
        query: str,
        macros: dict[str, str] | None = None,
        expanding: tuple[str, ...] = (),
        expansions: Expansions | None = None,
        level: int = 0,
    ) -> None:
        """`expansions`: @names already parsed (by name and field), shared by the queries of
        one rule set, so that a sub-query used by several rules is one node: its results on an
        item are then found once (see Document.results). `level`: the nesting this query is
        parsed at (a @name's definition: that of the @name)."""
        self.query = query
        self.macros = macros or {}
        self.expanding = expanding
        self.expansions: Expansions = expansions if expansions is not None else {}
        self.tokens = lex(query)
        self.position = 0
        self.level = level
        self.deepest = level  # the deepest level reached so far

    # -- nesting
    def enter(self, token: Token) -> None:
        """One level deeper, at `token` (a '(', NOT or '-', @name)."""
        self.level += 1
        if self.level > MAX_NESTING:
            raise NestingTooDeep(token.column)
        if self.level > self.deepest:
            self.deepest = self.level

    def reach(self, token: Token, span: int, name: str) -> None:
        """A @name parsed before, spanning `span` levels, used here at `token`."""
        deepest = self.level + span
        if deepest > MAX_NESTING:
            raise NestingTooDeep(token.column, f"@{name}")
        if deepest > self.deepest:
            self.deepest = deepest

    # -- token helpers
    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def end_column(self) -> int:
        return len(self.query) + 1

    def fail(self, expected: str, token: Token | None) -> QuerySyntaxError:
        if token is None:
            return QuerySyntaxError(self.end_column(), expected, "end of query")
        return QuerySyntaxError(token.column, expected, _show(token.text))

    # -- grammar
    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError(1, "a term", "an empty query")
        node = self.parse_or(None)
        token = self.peek()
        if token is not None:
            raise self.fail("an operator or the end of the query", token)
        if not node.is_positive():
            raise QuerySyntaxError(
                1, "at least one term that must be present", "a query that needs no term at all"
            )
        return node

    def text_since(self, first: int) -> str:
        """The query text of the tokens taken since token number `first`."""
        if first >= self.position:
            return ""
        last = self.tokens[self.position - 1]
        return self.query[self.tokens[first].column - 1 : last.column - 1 + len(last.text)]

    def parse_or(self, field: str | None) -> Node:
        first = self.position
        children = [self.parse_and(field)]
        while (token := self.peek()) is not None and token.kind is TokenKind.OR:
            self.take()
            children.append(self.parse_and(field))
        if len(children) == 1:
            return children[0]
        return Or(tuple(children), self.text_since(first))

    def parse_and(self, field: str | None) -> Node:
        first = self.position
        children = [self.parse_unary(field)]
        while (token := self.peek()) is not None and token.kind not in (
            TokenKind.OR,
            TokenKind.RPAREN,
        ):
            if token.kind is TokenKind.AND:
                self.take()
            children.append(self.parse_unary(field))
        if len(children) == 1:
            return children[0]
        return And(tuple(children), self.text_since(first))

    def parse_unary(self, field: str | None) -> Node:
        token = self.peek()
        if token is not None and token.kind in (TokenKind.NOT, TokenKind.MINUS):
            first = self.position
            self.take()
            self.enter(token)
            child = self.parse_unary(field)
            self.level -= 1
            return Not(child, self.text_since(first))
        return self.parse_primary(field)

    def parse_primary(self, field: str | None) -> Node:
        token = self.peek()
        if token is None:
            previous = self.tokens[self.position - 1] if self.position else None
            after = f" after {_show(previous.text)}" if previous is not None else ""
            raise self.fail(f"a term{after}", None)
        match token.kind:
            case TokenKind.LPAREN:
                self.take()
                self.enter(token)
                node = self.parse_or(field)
                closing = self.peek()
                if closing is None or closing.kind is not TokenKind.RPAREN:
                    raise self.fail(f"')' to close the '(' at column {token.column}", closing)
                self.take()
                self.level -= 1
                return node
            case TokenKind.FIELD:
                first = self.position
                self.take()
                if field is not None:
                    raise self.fail(f"no second field inside {field}:", token)
                nxt = self.peek()
                if nxt is None or nxt.kind in (TokenKind.RPAREN, TokenKind.OR, TokenKind.AND):
                    raise self.fail(f"a term after {_show(token.text)}", nxt)
                scoped = self.parse_primary(token.value)
                if isinstance(scoped, And | Or | Not) and nxt.kind is TokenKind.LPAREN:
                    scoped.label = self.text_since(first)
                return scoped
            case TokenKind.NEAR:
                return self.parse_near(field)
            case TokenKind.MACRO:
                self.take()
                return self.expand(token, field)
            case TokenKind.WORD | TokenKind.PHRASE:
                self.take()
                return self.term(token, field)
            case TokenKind.REGEX:
                self.take()
                return self.regex(token, field)
            case TokenKind.QUANTITY:
                self.take()
                return self.quantity(token, field)
        raise self.fail("a term", token)

    def parse_near(self, field: str | None) -> Leaf:
        near = self.take()
        distance = int(near.value)
        opening = self.peek()
        if (
            opening is None
            or opening.kind is not TokenKind.LPAREN
            or opening.column != near.column + len(near.text)
        ):
            raise self.fail(f"'(' right after {near.text}", opening)
        self.take()
        self.enter(opening)
        operands: list[Leaf] = []
        while (token := self.peek()) is not None and token.kind is not TokenKind.RPAREN:
            operands.append(self.near_operand(field))
        if token is None:
            raise self.fail(f"')' to close {near.text}(", None)
        self.take()
        self.level -= 1
        if len(operands) < 2:
            raise self.fail(f"at least two operands in {near.text}(...)", token)
        label = f"{near.text}(" + " ".join(op.label for op in operands) + ")"
        return Near(label, distance, tuple(operands), field, near.text.startswith("PRE"))

    def near_operand(self, field: str | None) -> Leaf:
        token = self.peek()
        if token is not None and token.kind in (TokenKind.WORD, TokenKind.PHRASE):
            self.take()
            return self.term(token, field)
        if token is not None and token.kind is TokenKind.QUANTITY:
            # A figure is a stretch of words too: NEAR/5(chips>=1000 order*).
            self.take()
            return self.quantity(token, field)
        if token is not None and token.kind is TokenKind.MACRO:
            self.take()
            return self.expand_near_operand(token, field)
        if token is not None and token.kind is TokenKind.LPAREN:
            self.take()
            self.enter(token)
            options: list[Leaf] = [self.near_operand(field)]
            while (nxt := self.peek()) is not None and nxt.kind is TokenKind.OR:
                self.take()
                options.append(self.near_operand(field))
            closing = self.peek()
            if closing is None or closing.kind is not TokenKind.RPAREN:
                raise self.fail("OR or ')' in a NEAR group", closing)
            self.take()
            self.level -= 1
            shown = [o.label for o in options[:3]] + (["…"] if len(options) > 3 else [])
            return AnyOf("(" + " OR ".join(shown) + ")", tuple(options), field)
        raise self.fail(
            "a word, phrase, wildcard, quantity, @name or (a OR b) group inside NEAR", token
        )

    def expand_near_operand(self, token: Token, field: str | None) -> Leaf:
        """`@name` inside NEAR: its definition must list alternatives that NEAR can place
        (words, phrases, wildcards, quantities, groups of them, other such @names)."""
        name = token.value
        if name not in self.macros:
            known = ", ".join("@" + n for n in sorted(self.macros)) or "none defined"
            raise self.fail(f"a name from [define] ({known})", token)
        if name in self.expanding:
            raise self.fail("a definition that does not refer to itself", token)
        key = ("near:" + name, field)
        parsed = self.expansions.get(key)
        if parsed is not None and isinstance(parsed[0], Leaf):
            self.reach(token, parsed[1], name)
            return parsed[0]
        self.enter(token)
        inner = Parser(
            self.macros[name], self.macros, (*self.expanding, name), self.expansions, self.level
        )
        try:
            if not inner.tokens:
                raise inner.fail("a term", None)
            options = [inner.near_operand(field)]
            while (nxt := inner.peek()) is not None and nxt.kind is TokenKind.OR:
                inner.take()
                options.append(inner.near_operand(field))
            if inner.peek() is not None:
                raise inner.fail("OR or the end (inside NEAR, a @name lists alternatives)", nxt)
        except NestingTooDeep:
            raise NestingTooDeep(token.column, f"@{name}") from None
        except QuerySyntaxError as error:
            raise QuerySyntaxError(
                token.column,
                f"a @{name} that NEAR can use",
                f"an error in it at its column {error.column}: "
                f"expected {error.expected}, got {error.got}",
            ) from None
        node: Leaf = options[0] if len(options) == 1 else AnyOf(token.text, tuple(options), field)
        self.level -= 1
        self.expansions[key] = (node, inner.deepest - self.level)
        self.deepest = max(self.deepest, inner.deepest)
        return node

    def expand(self, token: Token, field: str | None) -> Node:
        name = token.value
        if name not in self.macros:
            known = ", ".join("@" + n for n in sorted(self.macros)) or "none defined"
            raise self.fail(f"a name from [define] ({known})", token)
        if name in self.expanding:
            raise self.fail("a definition that does not refer to itself", token)
        parsed = self.expansions.get((name, field))
        if parsed is not None:
            self.reach(token, parsed[1], name)
            return parsed[0]
        self.enter(token)
        inner = Parser(
            self.macros[name], self.macros, (*self.expanding, name), self.expansions, self.level
        )
        try:
            node = inner.parse_or(field)
            if inner.peek() is not None:
                raise inner.fail("an operator or the end of the query", inner.peek())
        except NestingTooDeep:
            raise NestingTooDeep(token.column, f"@{name}") from None
        except QuerySyntaxError as error:
            raise QuerySyntaxError(
                token.column,
                f"a valid @{name}",
                f"an error in it at its column {error.column}: "
                f"expected {error.expected}, got {error.got}",
            ) from None
        if isinstance(node, And | Or | Not):
            node.label = f"{field}:@{name}" if field else f"@{name}"
        self.level -= 1
        self.expansions[(name, field)] = (node, inner.deepest - self.level)
        self.deepest = max(self.deepest, inner.deepest)
        return node

    def term(self, token: Token, field: str | None) -> Leaf:
        if token.kind is TokenKind.PHRASE:
            words = [self.word_part(part, token) for part in token.value.split()]
            flat = tuple(w for group in words for w in group)
            if not flat:
                raise self.fail("words inside the quotes", token)
            if len(flat) == 1:
                return flat[0].relabel(token.text, field)
            return Phrase(token.text, flat, field)
        parts = self.word_part(token.text, token)
        if not parts:
            raise self.fail("a word", token)
        if len(parts) == 1:
            return parts[0].relabel(token.text, field)
        # "ai-driven" is the phrase "ai driven", as it is tokenised in text.
        return Phrase(token.text, tuple(parts), field)

    def word_part(self, part: str, token: Token) -> list[Word | Prefix]:
        wildcard = part.endswith("*")
        body = part[:-1] if wildcard else part
        if "*" in body:
            raise self.fail("'*' only at the end of a word", token)
        pieces = tokenize(body)
        if wildcard and (not pieces or not fold(body).rstrip().endswith(pieces[-1])):
            raise self.fail("letters or digits right before '*'", token)
        result: list[Word | Prefix] = [_WordSpec.word(p) for p in pieces]
        if wildcard:
            if len(pieces[-1]) < 2:
                raise self.fail("at least 2 letters before '*'", token)
            result[-1] = _WordSpec.prefix(pieces[-1])
        return result

    def regex(self, token: Token, field: str | None) -> Regex:
        try:
            return Regex(token.text, token.value, field)
        except re2.error as error:
            message = error.args[0] if error.args else error
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            raise self.fail(f"a valid RE2 regular expression ({message})", token) from None

    def quantity(self, token: Token, field: str | None) -> QuantityCompare:
        found = _QUANTITY.fullmatch(token.text)
        assert found is not None
        name, op, raw = found.groups()
        kind = _QUANTITY_NAMES[name.lower()]
        value = _quantity_value(kind, raw)
        if value is None:
            examples = {
                "power": "a power such as 100MW or 1.5GW",
                "money": "an amount such as 500M, $1.5B or 2bn",
                "chips": "a count such as 10000 or 10k",
            }
            raise self.fail(
                examples[kind],
                Token(TokenKind.QUANTITY, raw or "nothing", token.column + len(name) + len(op)),
            )
        return QuantityCompare(token.text, kind, op, value, field)  # type: ignore[arg-type]


class _WordSpec:
    """Builders for the word leaves inside terms and phrases."""

    @staticmethod
    def word(piece: str) -> Word:
        return Word(piece, normal_form(piece), None)

    @staticmethod
    def prefix(piece: str) -> Prefix:
        return Prefix(piece + "*", piece, None)


def _quantity_value(kind: QuantityName, raw: str) -> float | None:
    compact = raw.replace(",", "").replace("_", "")
    if kind == "power":
        found = _POWER_VALUE.fullmatch(compact)
        if found is None:
            return None
        return float(found.group(1)) * _POWER_SCALE[(found.group(2) or "mw").lower()]
    pattern = _MONEY_VALUE if kind == "money" else _COUNT_VALUE
    found = pattern.fullmatch(compact)
    if found is None:
        return None
    return float(found.group(1)) * _SCALE.get((found.group(2) or "").lower(), 1.0)


def parse_query(
    query: str,
    macros: dict[str, str] | None = None,
    expansions: Expansions | None = None,
) -> Node:
    """Parse one query; raises QuerySyntaxError with the column of the problem.

    `expansions`: shared by the queries of one rule set (see Parser)."""
    return Parser(query, macros, expansions=expansions).parse()
