"""Read a policy file and refuse it whole unless every part of it can be stored and evaluated.

A policy file is Turtle holding one ``et:PolicySet`` (its IRI is the version's IRI, with one
``et:policyVersion`` label) and its rules: SHACL shapes with SPARQL constraints. It is refused,
naming the thing and the rule, when it is not Turtle, uses a property the ontology does not
declare (a typo would silently switch a rule off), gives a threshold of the wrong type, or uses
SHACL the engine does not evaluate (:mod:`enertwin.kg.validation.compiler`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Store, Triple, parse

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.validation.compiler import CompiledQuery, UnsupportedShapeError, compile_shapes, parse_turtle

_OWL_PROPERTIES = ("ObjectProperty", "DatatypeProperty", "AnnotationProperty")
_CORE = frozenset(
    NamedNode(iri)
    for iri in (
        ns.RDF_BASE + "type",
        ns.RDF_BASE + "first",
        ns.RDF_BASE + "rest",
        ns.RDFS_BASE + "label",
        ns.RDFS_BASE + "comment",
        ns.RDFS_BASE + "seeAlso",
    )
)
# sh: terms on the nodes of SPARQL constraints and prefix declarations (shapes' own terms the compiler checks)
_CONSTRAINT_TERMS = frozenset(
    NamedNode(ns.SH_BASE + t)
    for t in ("select", "message", "prefixes", "deactivated", "declare", "prefix", "namespace")
)
_SHAPE_MARKERS = frozenset(
    NamedNode(ns.SH_BASE + t) for t in ("targetClass", "targetNode", "targetSubjectsOf", "path", "sparql", "property")
)
_SHAPE_TYPES = frozenset(NamedNode(ns.SH_BASE + t) for t in ("NodeShape", "PropertyShape"))
_ET_IN_SPARQL = re.compile(r"(?<![\w<])et:([A-Za-z_][\w-]*)|<" + re.escape(ns.ET_BASE) + r"([^>\s]+)>")


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """A policy set that passed every check: its version, its triples and its compiled rules."""

    version: NamedNode
    label: str
    triples: tuple[Triple, ...]
    rules: tuple[CompiledQuery, ...]


def read_policy(turtle: bytes | str, source: str) -> PolicyFile:
    """Check a policy file whole; an :class:`InputError` names what is wrong and where."""
    text = turtle.decode("utf-8", errors="replace") if isinstance(turtle, bytes) else turtle
    try:
        triples = tuple(t for t in parse(text, format=RdfFormat.TURTLE))
    except SyntaxError as exc:
        raise InputError(f"{source} is not Turtle: {exc}") from None
    if not triples:
        raise InputError(f"{source} holds no triples; a policy file holds one et:PolicySet and its rules")
    version, label = _the_set(triples, source)
    _check_properties(triples, source)
    try:
        rules = compile_shapes(parse_turtle([text]), _ontology())
    except UnsupportedShapeError as exc:
        raise InputError(f"{source}: a rule the policy engine cannot evaluate: {exc}") from None
    if not rules:
        raise InputError(f"{source} has no rule (no SHACL shape with a target and a constraint)")
    for rule in rules:
        _check_sparql_terms(rule, source)
    return PolicyFile(version, label, triples, tuple(rules))


def _the_set(triples: tuple[Triple, ...], source: str) -> tuple[NamedNode, str]:
    sets = sorted({t.subject for t in triples if t.predicate == ns.RDF_TYPE and t.object == ns.POLICY_SET}, key=str)
    if len(sets) != 1 or not isinstance(sets[0], NamedNode):
        raise InputError(
            f"{source} must describe exactly one policy set (an IRI typed et:PolicySet, the version's IRI); "
            f"it has {len(sets)}"
        )
    version = sets[0]
    labels = [t.object for t in triples if t.subject == version and t.predicate == ns.POLICY_VERSION]
    if len(labels) != 1 or not isinstance(labels[0], Literal) or not labels[0].value.strip():
        raise InputError(f"{source}: the policy set <{version.value}> must have exactly one et:policyVersion string")
    return version, labels[0].value.strip()


def _check_properties(triples: tuple[Triple, ...], source: str) -> None:
    """Every property is declared (ontology, RDF/RDFS core, SHACL) and every number is a number."""
    declared = _declared_properties()
    shapes = {t.subject for t in triples if t.predicate in _SHAPE_MARKERS}
    shapes |= {t.subject for t in triples if t.predicate == ns.RDF_TYPE and t.object in _SHAPE_TYPES}
    for t in triples:
        p = t.predicate
        if p.value.startswith(ns.SH_BASE):
            if t.subject not in shapes and p not in _CONSTRAINT_TERMS:
                raise InputError(f"{source}: {_show(t.subject)} uses sh:{p.value[len(ns.SH_BASE) :]}, unknown here")
            continue
        if p not in _CORE and p not in declared:
            raise InputError(
                f"{source}: {_show(t.subject)} uses the property <{p.value}>, which the ontology does not declare "
                "(a misspelt threshold would switch its rule off)"
            )
        range_ = declared.get(p)
        if range_ == ns.XSD_DOUBLE and not (isinstance(t.object, Literal) and t.object.datatype == ns.XSD_DOUBLE):
            raise InputError(
                f"{source}: {_show(t.subject)} {_short(p)} must be a number typed xsd:double "
                f'(write "0.8"^^xsd:double or 8e-1), not {t.object}'
            )
        if range_ == ns.XSD_INTEGER and not (isinstance(t.object, Literal) and t.object.datatype == ns.XSD_INTEGER):
            raise InputError(f"{source}: {_show(t.subject)} {_short(p)} must be an integer, not {t.object}")


def _check_sparql_terms(rule: CompiledQuery, source: str) -> None:
    """An ``et:`` term of a rule's SPARQL that the ontology does not declare never matches: refused."""
    known = _declared_terms()
    for match in _ET_IN_SPARQL.finditer(rule.sparql):
        local = match.group(1) or match.group(2)
        if NamedNode(ns.ET_BASE + local) not in known:
            raise InputError(f"{source}: the rule <{rule.shape}> reads et:{local}, which the ontology does not declare")


def _show(term: object) -> str:
    return (
        f"<{term.value}>"
        if isinstance(term, NamedNode)
        else "a blank node"
        if isinstance(term, BlankNode)
        else str(term)
    )


def _short(p: NamedNode) -> str:
    return "et:" + p.value[len(ns.ET_BASE) :] if p.value.startswith(ns.ET_BASE) else f"<{p.value}>"


@cache
def _ontology() -> Store:
    """The shipped ontology (read only): class hierarchy for targets, declared terms for the checks."""
    return parse_turtle([(files("enertwin.ontology") / "enertwin.ttl").read_text(encoding="utf-8")])


@cache
def _declared_properties() -> dict[NamedNode, NamedNode | None]:
    """Property → its range (or None), for every property the ontology declares."""
    store = _ontology()
    found: dict[NamedNode, NamedNode | None] = {}
    for kind in _OWL_PROPERTIES:
        for quad in store.quads_for_pattern(None, ns.RDF_TYPE, NamedNode(ns.OWL_BASE + kind), None):
            if isinstance(quad.subject, NamedNode):
                ranges = list(store.quads_for_pattern(quad.subject, NamedNode(ns.RDFS_BASE + "range"), None, None))
                obj = ranges[0].object if ranges else None
                found[quad.subject] = obj if isinstance(obj, NamedNode) else None
    return found


@cache
def _declared_terms() -> frozenset[NamedNode]:
    store = _ontology()
    return frozenset(
        q.subject for q in store.quads_for_pattern(None, ns.RDF_TYPE, None, None) if isinstance(q.subject, NamedNode)
    )
