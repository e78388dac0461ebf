"""FEEL's grammar for lark's LALR(1) parser.

Written for what Zeebe models contain, not the whole DMN 1.4 chapter 10 grammar: names are single
identifiers or backtick-quoted (no free-form names with spaces), except the built-in functions whose
names contain spaces (``string length(...)``, ``date and time(...)``), which the lexer recognises as
one token when an opening parenthesis follows. Textual expressions (``if``, ``for``, ``some``,
``every``, ``function``) sit at the top of an expression: wrap them in parentheses to use them as an
operand. Two start symbols: ``expression`` and ``unary_tests`` (DMN input entries).
"""

from __future__ import annotations

#: Built-in function names containing spaces, longest first so the lexer prefers the full name.
MULTI_WORD_FUNCTIONS: tuple[str, ...] = tuple(
    sorted(
        (
            "years and months duration",
            "met by",
            "started by",
            "finished by",
            "overlaps after",
            "overlaps before",
            "last day of month",
            "round half down",
            "distinct values",
            "duplicate values",
            "list replace",
            "to base64",
            "is blank",
            "substring before",
            "substring after",
            "date and time",
            "round half up",
            "month of year",
            "list contains",
            "string length",
            "context merge",
            "insert before",
            "week of year",
            "get entries",
            "get or else",
            "put all",
            "starts with",
            "day of week",
            "day of year",
            "context put",
            "string join",
            "round down",
            "upper case",
            "lower case",
            "is defined",
            "get value",
            "ends with",
            "round up",
            "index of",
            "is empty",
        ),
        key=len,
        reverse=True,
    )
)

MULTI_WORD_TYPES: tuple[str, ...] = (
    "years and months duration",
    "days and time duration",
    "date and time",
)


def _alternation(names: tuple[str, ...]) -> str:
    return "|".join(r"\s+".join(part for part in name.split()) for name in names)


_GRAMMAR_TEMPLATE = r"""
?expression: expr

?expr: disjunction
     | "if" expr "then" expr "else" expr                     -> if_expr
     | "for" iteration ("," iteration)* "return" expr        -> for_expr
     | "some" quantified ("," quantified)* "satisfies" expr   -> some_expr
     | "every" quantified ("," quantified)* "satisfies" expr  -> every_expr
     | "function" "(" [formal ("," formal)*] ")" expr        -> function_def

formal: name [":" type_expr]                                 // the parameter's type is not checked

iteration: name "in" expr [".." expr]
quantified: name "in" expr

?disjunction: conjunction
            | disjunction "or" conjunction                   -> or_expr

?conjunction: comparison
            | conjunction "and" comparison                   -> and_expr

?comparison: sum
           | sum CMP sum                                     -> compare
           | sum "between" sum "and" sum                     -> between
           | sum "in" in_tests                               -> in_expr
           | sum "instance" "of" type_expr                   -> instance_of

in_tests: sum                                                -> in_single
        | CMP sum                                            -> in_compare
        | "(" unary_test "," unary_test ("," unary_test)* ")" -> in_many

type_name: TYPE_NAME | NAME
// DMN 1.4 10.3.1.2 (type): list<T>, range<T>, context<k: T, ...>, function<T, ...> -> T
?type_expr: type_name                                        -> simple_type
          | NAME TYPE_LT type_expr TYPE_GT                   -> generic_type
          | NAME TYPE_LT type_field ("," type_field)* TYPE_GT -> context_type
          | "function" TYPE_LT [type_expr ("," type_expr)*] TYPE_GT "->" type_expr -> function_type
type_field: name ":" type_expr

?sum: product
    | sum "+" product                                        -> add
    | sum "-" product                                        -> sub

?product: power
        | product "*" power                                  -> mul
        | product "/" power                                  -> div

?power: unary
      | power "**" unary                                     -> pow

?unary: postfix
      | "-" unary                                            -> neg

?postfix: primary
        | postfix "." name                                   -> path
        | postfix "." PROPERTY_NAME                          -> path
        | postfix "[" expr "]"                               -> filter
        | postfix "(" [arguments] ")"                        -> invoke

?primary: NUMBER                                             -> number
        | STRING                                             -> string
        | "true"                                             -> true
        | "false"                                            -> false
        | "null"                                             -> null
        | "@" STRING                                         -> temporal
        | "?"                                                -> input_value
        | name                                               -> var
        | FUNCTION_NAME "(" [arguments] ")"                  -> builtin_call
        | "[" [expr ("," expr)*] "]"                         -> list_literal
        | "{" [entry ("," entry)*] "}"                       -> context
        | "[" expr ".." expr "]"                             -> interval_ii
        | "[" expr ".." expr ")"                             -> interval_ie
        | "(" expr ".." expr "]"                             -> interval_ei
        | "(" expr ".." expr ")"                             -> interval_ee
        | "]" expr ".." expr "]"                             -> interval_ei
        | "]" expr ".." expr ")"                             -> interval_ee
        | "[" expr ".." expr _OPEN_END                        -> interval_ie
        | "]" expr ".." expr _OPEN_END                        -> interval_ee
        | "(" CMP sum ")"                                    -> comparison_range
        | "(" expr ")"


entry: key ":" expr
key: key_name | BACKTICK_NAME | STRING
key_name: NAME (NAME | KEY_SYMBOL)*                          // DMN 1.4 rule 30: foo bar, foo+bar

arguments: expr ("," expr)*                                  -> positional
         | named ("," named)*                                -> named_args
named: param_name ":" expr
param_name: NAME+ | BACKTICK_NAME

name: NAME | BACKTICK_NAME

// DMN input entries
unary_tests: unary_test ("," unary_test)*
?unary_test: expr                                            -> test_expr
           | CMP sum                                         -> test_compare

CMP: "<=" | ">=" | "!=" | "=" | "<" | ">"
TYPE_LT: "<"
KEY_SYMBOL: /[+\-*\/.']/
// [1..10[ : a "[" that closes an interval, told from a filter's "[" by what follows it
_OPEN_END.4: /\[(?=\s*(?:$|[,)\]}=!<>:]|\.(?!\d)|(?:then|else|and|or|in|between|instance)\b))/
TYPE_GT: ">"
FUNCTION_NAME.3: /(?:@FUNCTIONS@)(?=\s*\()/
TYPE_NAME.3: /(?:@TYPES@)\b/
PROPERTY_NAME.3: /(?:time\s+offset|start\s+included|end\s+included)\b/
NUMBER: /(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/
STRING: /"(?:[^"\\]|\\.)*"/
BACKTICK_NAME: /`[^`]+`/
NAME: /(?!\d)[\w$\U00010000-\U000EFFFF]+/

%import common.WS
%ignore WS
%ignore /\/\/[^\n]*/
%ignore /\/\*(.|\n)*?\*\//
"""

GRAMMAR = _GRAMMAR_TEMPLATE.replace("@FUNCTIONS@", _alternation(MULTI_WORD_FUNCTIONS)).replace(
    "@TYPES@", _alternation(MULTI_WORD_TYPES)
)
