"""Compile SHACL shapes into SPARQL SELECT queries that Oxigraph evaluates.

Each constraint of each shape becomes one :class:`CompiledQuery` whose solutions are
the violations (``?this`` the focus node, ``?value`` the offending value). Target and
``sh:class`` classes are expanded to their subclasses from the ontology at compile time.
See :mod:`enertwin.kg.validation.shacl` for the SHACL subset that is supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.resources import files

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    RdfFormat,
    Store,
    Triple,
    Variable,
)

from enertwin.kg import namespaces as ns
from enertwin.kg.violation import Severity

Term = NamedNode | BlankNode | Literal | Triple
Node = NamedNode | BlankNode

_SH = ns.SH_BASE
SHAPES_BASE = "https://w3id.org/enertwin/shapes#"
_RDF_FIRST = NamedNode(ns.RDF_BASE + "first")
_RDF_REST = NamedNode(ns.RDF_BASE + "rest")
_RDF_NIL = NamedNode(ns.RDF_BASE + "nil")


def _sh(local: str) -> NamedNode:
    return NamedNode(_SH + local)


SH_NODE_SHAPE = _sh("NodeShape")
SH_PROPERTY_SHAPE = _sh("PropertyShape")
SH_TARGET_CLASS = _sh("targetClass")
SH_TARGET_NODE = _sh("targetNode")
SH_TARGET_SUBJECTS_OF = _sh("targetSubjectsOf")
SH_TARGET_OBJECTS_OF = _sh("targetObjectsOf")
RDFS_CLASS = NamedNode(ns.RDFS_BASE + "Class")
SH_PROPERTY = _sh("property")
SH_PATH = _sh("path")
SH_INVERSE_PATH = _sh("inversePath")
SH_MESSAGE = _sh("message")
SH_SEVERITY = _sh("severity")
SH_DEACTIVATED = _sh("deactivated")
SH_MIN_COUNT = _sh("minCount")
SH_MAX_COUNT = _sh("maxCount")
SH_DATATYPE = _sh("datatype")
SH_CLASS = _sh("class")
SH_NODE_KIND = _sh("nodeKind")
SH_MIN_INCLUSIVE = _sh("minInclusive")
SH_MAX_INCLUSIVE = _sh("maxInclusive")
SH_MIN_EXCLUSIVE = _sh("minExclusive")
SH_MAX_EXCLUSIVE = _sh("maxExclusive")
SH_LESS_THAN_OR_EQUALS = _sh("lessThanOrEquals")
SH_IN = _sh("in")
SH_HAS_VALUE = _sh("hasValue")
SH_PATTERN = _sh("pattern")
SH_FLAGS = _sh("flags")
SH_OR = _sh("or")
SH_SPARQL = _sh("sparql")
SH_SELECT = _sh("select")
SH_PREFIXES = _sh("prefixes")
SH_DECLARE = _sh("declare")
SH_PREFIX = _sh("prefix")
SH_NAMESPACE = _sh("namespace")
# what declares a SHACL-SPARQL constraint component (its parameters then hide in any namespace)
_COMPONENT_DECLARATIONS = tuple(_sh(k) for k in ("parameter", "validator", "nodeValidator", "propertyValidator"))

_SEVERITIES = {
    _sh("Violation"): Severity.VIOLATION,
    _sh("Warning"): Severity.WARNING,
    _sh("Info"): Severity.INFO,
}
_NODE_KINDS = frozenset(
    _sh(k) for k in ("IRI", "BlankNode", "Literal", "BlankNodeOrIRI", "BlankNodeOrLiteral", "IRIOrLiteral")
)

# Constraints checked value by value: parameter -> (template, component, substituted variable).
_VALUE_PARAMETERS = {
    SH_DATATYPE: ("shacl_datatype.rq", "DatatypeConstraintComponent", "datatype"),
    SH_NODE_KIND: ("shacl_node_kind.rq", "NodeKindConstraintComponent", "nodeKind"),
    SH_MIN_INCLUSIVE: ("shacl_min_inclusive.rq", "MinInclusiveConstraintComponent", "minInclusive"),
    SH_MAX_INCLUSIVE: ("shacl_max_inclusive.rq", "MaxInclusiveConstraintComponent", "maxInclusive"),
    SH_MIN_EXCLUSIVE: ("shacl_min_exclusive.rq", "MinExclusiveConstraintComponent", "minExclusive"),
    SH_MAX_EXCLUSIVE: ("shacl_max_exclusive.rq", "MaxExclusiveConstraintComponent", "maxExclusive"),
    SH_HAS_VALUE: ("shacl_has_value.rq", "HasValueConstraintComponent", "hasValue"),
    SH_LESS_THAN_OR_EQUALS: ("shacl_less_than_or_equals.rq", "LessThanOrEqualsConstraintComponent", "other"),
}
_CONSTRAINT_PARAMETERS = frozenset(
    {SH_MIN_COUNT, SH_MAX_COUNT, SH_CLASS, SH_IN, SH_PATTERN, SH_OR, SH_SPARQL, *_VALUE_PARAMETERS}
)
# sh: terms a shape may carry besides its constraint parameters.
_SHAPE_TERMS = frozenset(
    {
        SH_TARGET_CLASS,
        SH_TARGET_NODE,
        SH_TARGET_SUBJECTS_OF,
        SH_TARGET_OBJECTS_OF,
        SH_PROPERTY,
        SH_PATH,
        SH_MESSAGE,
        SH_SEVERITY,
        SH_DEACTIVATED,
        SH_FLAGS,
    }
    | {_sh(k) for k in ("name", "description", "order", "group", "defaultValue")}
)
# sh:datatype values whose lexical space shacl_datatype.rq checks; any other XSD (or rdf:) datatype
# is refused, for an ill-typed literal of it ("x"^^xsd:int) would otherwise pass unnoticed.
_CHECKED_DATATYPES = frozenset(
    NamedNode(ns.XSD_BASE + t)
    for t in (
        "string",
        "boolean",
        "decimal",
        "double",
        "float",
        "dateTime",
        "date",
        "time",
        "duration",
        "dayTimeDuration",
        "yearMonthDuration",
    )
) | {NamedNode(ns.RDF_BASE + "langString")}
# xsd:integer is checked by its lexical form (shacl_datatype_integer.rq), not a cast, so that an integer
# beyond Oxigraph's 64 bits stays well-typed. Types derived from it (xsd:int, xsd:byte, ...) are refused:
# Oxigraph stores "5"^^xsd:int as "5"^^xsd:integer, so no query over a store can tell them apart.
_INTEGER = ns.XSD_INTEGER
_RESERVED_SPARQL_VARIABLES = re.compile(r"[?$](PATH|currentShape|shapesGraph)\b")
_SELECT = re.compile(r"\bSELECT\b", re.IGNORECASE)
# SHACL-SPARQL forbids these in a constraint (MINUS, SERVICE, VALUES, a sub-SELECT not returning
# $this, AS $this); the fast path also leaves to the conformant engine any $this in a nested group
# but FILTER (NOT) EXISTS, which pre-binding substitutes while a join would not.
_REFUSED_SPARQL = re.compile(r"\b(MINUS|SERVICE|VALUES|SELECT)\b|\bAS\s*[?$]this\b", re.IGNORECASE)
_SPARQL_TOKENS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>'
    r"|#[^\n]*|\bEXISTS\b|[{}]|[?$]this\b",
    re.IGNORECASE,
)
_PREFIX_NAME = re.compile(r"[A-Za-z][\w.-]*|")
_PLACEHOLDER = re.compile(r"^[ \t]*#@(\w+)[ \t]*$", re.MULTILINE)


class UnsupportedShapeError(ValueError):
    """A shape uses SHACL the compiler does not translate, or is malformed."""


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """One constraint of one shape as a SPARQL SELECT over the data.

    Every solution is a violation: ``?this`` is the focus node, ``?value`` (if
    bound) the offending value.
    """

    shape: str
    component: str
    message: str
    severity: Severity
    path: str | None
    sparql: str
    substitutions: Mapping[Variable, Term]
    targets: frozenset[NamedNode]
    # the report's terms: the shape (node) that owns the constraint, its component, its path
    source: Term | None = None
    path_term: Term | None = None
    path_triples: tuple[Triple, ...] = ()
    severity_iri: NamedNode | None = None
    messages: tuple[Literal, ...] = ()
    # targets other than classes (sh:targetNode, sh:targetSubjectsOf, sh:targetObjectsOf): always run
    untyped_targets: bool = False
    constraint: Term | None = None  # the sh:sparql node of a SPARQL constraint (sh:sourceConstraint)


@cache
def load_template(name: str) -> str:
    """Text of a query template shipped beside this module."""
    return (files(__package__) / name).read_text(encoding="utf-8")


def parse_turtle(texts: Iterable[str]) -> Store:
    """An in-memory store holding every Turtle text of ``texts``."""
    store = Store()
    for text in texts:
        store.load(text, format=RdfFormat.TURTLE)
    return store


def iri_text(term: object) -> str:
    """Return a node's IRI, or its N-Triples form if it has none."""
    return term.value if isinstance(term, NamedNode) else str(term)


# -----------------------------------------------------------------------------
# Compiler
# -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Path:
    """How ?this reaches ?value: an IRI, its inverse, or the focus node itself."""

    predicate: NamedNode | None = None
    inverse: bool = False

    def pattern(self, value: str = "value") -> str:
        if self.predicate is None:
            return f"BIND (?this AS ?{value})"
        if self.inverse:
            return f"?{value} ?path ?this ."
        return f"?this ?path ?{value} ."

    @property
    def label(self) -> str | None:
        if self.predicate is None:
            return None
        return ("^" if self.inverse else "") + self.predicate.value

    def term(self) -> tuple[Term | None, tuple[Triple, ...]]:
        """The path as the report writes it: an IRI, or a blank node ``[ sh:inversePath IRI ]``."""
        if self.predicate is None:
            return None, ()
        if not self.inverse:
            return self.predicate, ()
        node = BlankNode()
        return node, (Triple(node, SH_INVERSE_PATH, self.predicate),)


@dataclass(frozen=True, slots=True)
class _Targets:
    """A shape's focus nodes: instances of classes (subclasses expanded), nodes, subjects or objects of IRIs."""

    classes: frozenset[NamedNode] = frozenset()
    nodes: frozenset[Term] = frozenset()
    subjects_of: frozenset[NamedNode] = frozenset()
    objects_of: frozenset[NamedNode] = frozenset()

    def __or__(self, other: _Targets) -> _Targets:
        return _Targets(
            self.classes | other.classes,
            self.nodes | other.nodes,
            self.subjects_of | other.subjects_of,
            self.objects_of | other.objects_of,
        )

    def __bool__(self) -> bool:
        return bool(self.classes or self.nodes or self.subjects_of or self.objects_of)

    @property
    def untyped(self) -> bool:
        return bool(self.nodes or self.subjects_of or self.objects_of)

    def block(self) -> str:
        """The SPARQL that binds ?this to every focus node (class targets alone keep their plain form)."""
        parts = []
        if self.classes:
            parts.append(_values("targetClass", _sorted(self.classes)) + "\n  ?this a ?targetClass .")
        if self.nodes:
            parts.append(_values("this", _sorted(self.nodes)))
        if self.subjects_of:
            parts.append(_values("targetSubjectsOf", _sorted(self.subjects_of)) + " ?this ?targetSubjectsOf [] .")
        if self.objects_of:
            parts.append(_values("targetObjectsOf", _sorted(self.objects_of)) + " [] ?targetObjectsOf ?this .")
        if len(parts) == 1:
            return parts[0]
        return "{ SELECT DISTINCT ?this WHERE { { " + " } UNION { ".join(parts) + " } } }"


def _sorted(terms: Iterable[Term]) -> list[Term]:
    return sorted(terms, key=str)


class _Emitter:
    """Builds the queries of one shape: its targets, path, message and severity are fixed."""

    def __init__(
        self,
        reported: str,
        severity: tuple[Severity, NamedNode],
        messages: list[Literal],
        path: _Path,
        targets: _Targets,
        source: Node,
    ) -> None:
        self.reported = reported
        self.severity, self.severity_iri = severity
        self.messages = tuple(messages)
        self.message = _preferred(messages)
        self.path = path
        self.targets = targets.classes
        self.untyped = targets.untyped
        self.target_block = targets.block()
        self.source = source
        self.base: dict[Variable, Term] = {} if path.predicate is None else {Variable("path"): path.predicate}

    def __call__(
        self,
        template: str,
        component: str,
        substitutions: Mapping[str, Term] | None = None,
        blocks: Mapping[str, str] | None = None,
    ) -> CompiledQuery:
        fragments = {
            "targets": self.target_block,
            "value": self.path.pattern(),
            "otherValue": self.path.pattern("otherValue"),
            **(blocks or {}),
        }

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in fragments:
                raise AssertionError(f"{template}: no fragment for placeholder #@{name}")
            return "  " + fragments[name]

        text = _PLACEHOLDER.sub(fill, load_template(template))
        subs = dict(self.base)
        subs.update({Variable(k): v for k, v in (substitutions or {}).items()})
        message = self.message or f"Value does not satisfy sh:{component} of {self.reported}."
        return self.query(component, message, text, subs, self.messages)

    def sparql(self, text: str, messages: list[Literal], constraint: Node) -> CompiledQuery:
        message = _preferred(messages) or f"Focus node breaks the SPARQL constraint of {self.reported}."
        return self.query("SPARQLConstraintComponent", message, text, {}, tuple(messages), constraint)

    def query(
        self,
        component: str,
        message: str,
        text: str,
        subs: Mapping[Variable, Term],
        messages: tuple[Literal, ...],
        constraint: Node | None = None,
    ) -> CompiledQuery:
        path_term, path_triples = self.path.term()
        return CompiledQuery(
            self.reported,
            component,
            message,
            self.severity,
            self.path.label,
            text,
            subs,
            self.targets,
            source=self.source,
            path_term=path_term,
            path_triples=path_triples,
            severity_iri=self.severity_iri,
            messages=messages,
            untyped_targets=self.untyped,
            constraint=constraint,
        )


def _preferred(messages: list[Literal]) -> str | None:
    """The message to show people: English first, then no language, then any."""
    if not messages:
        return None
    ordered = sorted(messages, key=lambda m: ({"en": 0, None: 1}.get(m.language, 2), m.value))
    return ordered[0].value


class _Compiler:
    def __init__(self, shapes: Store, ontology: Store, *, individuals: bool = True) -> None:
        self.shapes = shapes
        self.ontology = ontology
        self.with_individuals = individuals
        self._subclasses: dict[NamedNode, set[NamedNode]] = {}
        for quad in ontology.quads_for_pattern(None, ns.RDFS_SUBCLASS_OF, None, None):
            if isinstance(quad.subject, NamedNode) and isinstance(quad.object, NamedNode):
                self._subclasses.setdefault(quad.object, set()).add(quad.subject)

    # --- reading the shapes graph ------------------------------------------------

    def objects(self, subject: Node, predicate: NamedNode) -> list[Term]:
        found = {q.object for q in self.shapes.quads_for_pattern(subject, predicate, None, None)}
        return sorted(found, key=str)

    def one(self, subject: Node, predicate: NamedNode) -> Term | None:
        values = self.objects(subject, predicate)
        if len(values) > 1:
            raise UnsupportedShapeError(f"{_name(subject)} has {len(values)} values of {_name(predicate)}")
        return values[0] if values else None

    def items(self, head: Term) -> list[Term]:
        """Return the members of an RDF list."""
        members: list[Term] = []
        seen: set[Term] = set()
        while head != _RDF_NIL:
            if not isinstance(head, NamedNode | BlankNode) or head in seen:
                raise UnsupportedShapeError(f"malformed RDF list at {head}")
            seen.add(head)
            first = self.one(head, _RDF_FIRST)
            rest = self.one(head, _RDF_REST)
            if first is None or rest is None:
                raise UnsupportedShapeError(f"malformed RDF list at {head}")
            members.append(first)
            head = rest
        return members

    def subjects(self, predicate: NamedNode, obj: Term | None = None) -> set[Node]:
        quads = self.shapes.quads_for_pattern(None, predicate, obj, None)
        return {_node(q.subject, _name(predicate)) for q in quads}

    # --- class hierarchy -----------------------------------------------------------

    def descendants(self, classes: Iterable[NamedNode]) -> list[NamedNode]:
        """Return the classes and all their subclasses (rdfs:subClassOf closure)."""
        found: set[NamedNode] = set()
        todo = list(classes)
        while todo:
            cls = todo.pop()
            if cls not in found:
                found.add(cls)
                todo.extend(self._subclasses.get(cls, ()))
        return sorted(found, key=lambda c: c.value)

    def individuals(self, classes: Iterable[NamedNode]) -> list[Term]:
        """Nodes the ontology types with one of ``classes``."""
        found: set[Term] = set()
        if not self.with_individuals:
            return []
        for cls in classes:
            found.update(q.subject for q in self.ontology.quads_for_pattern(None, ns.RDF_TYPE, cls, None))
        # a blank node of the ontology is no node of the data (and no term a query can name)
        return sorted((t for t in found if not isinstance(t, BlankNode)), key=str)

    # --- compiling -------------------------------------------------------------------

    def compile(self) -> list[CompiledQuery]:
        property_shapes = (
            self.subjects(ns.RDF_TYPE, SH_PROPERTY_SHAPE)
            | self.subjects(SH_PATH)
            | {_node(q.object, "sh:property") for q in self.shapes.quads_for_pattern(None, SH_PROPERTY, None, None)}
        )
        node_shapes = (
            self.subjects(ns.RDF_TYPE, SH_NODE_SHAPE)
            | self.subjects(SH_TARGET_CLASS)
            | self.subjects(SH_TARGET_NODE)
            | self.subjects(SH_TARGET_SUBJECTS_OF)
            | self.subjects(SH_TARGET_OBJECTS_OF)
            | self.subjects(SH_PROPERTY)
            | self.subjects(SH_SPARQL)
        ) - property_shapes
        for shape in sorted(node_shapes | property_shapes, key=str):
            self.check_terms(shape)
        for declaration in _COMPONENT_DECLARATIONS:
            for component in self.subjects(declaration):
                raise UnsupportedShapeError(f"{_name(component)}: SHACL-SPARQL constraint components are not compiled")
        for shape in sorted(property_shapes, key=str):
            if self.objects(shape, SH_PROPERTY):
                raise UnsupportedShapeError(f"{_name(shape)}: sh:property inside a property shape is not compiled")

        # (reported shape, property shape) -> focus nodes
        uses: dict[tuple[str, Node], _Targets] = {}
        queries: list[CompiledQuery] = []
        for node_shape in sorted(node_shapes, key=str):
            if self.deactivated(node_shape):
                continue
            targets = self.targets(node_shape)
            if targets:
                queries += self.compile_shape(node_shape, iri_text(node_shape), _Path(), targets)
            for term in self.objects(node_shape, SH_PROPERTY):
                prop = _node(term, "sh:property")
                reported = iri_text(prop) if isinstance(prop, NamedNode) else iri_text(node_shape)
                uses[reported, prop] = uses.get((reported, prop), _Targets()) | targets
        for prop in property_shapes:
            own = self.targets(prop)
            if own:
                uses[iri_text(prop), prop] = uses.get((iri_text(prop), prop), _Targets()) | own
        for (reported, prop), targets in sorted(uses.items(), key=lambda item: (item[0][0], str(item[0][1]))):
            if targets and not self.deactivated(prop):
                queries += self.compile_shape(prop, reported, self.path(prop), targets)
        return queries

    def check_terms(self, shape: Node) -> None:
        """Refuse SHACL the compiler would otherwise skip without notice."""
        for quad in self.shapes.quads_for_pattern(shape, None, None, None):
            predicate = quad.predicate
            if not predicate.value.startswith(_SH):
                continue
            if predicate not in _SHAPE_TERMS and predicate not in _CONSTRAINT_PARAMETERS:
                raise UnsupportedShapeError(f"{_name(shape)} uses {_name(predicate)}, which is not supported")

    def deactivated(self, shape: Node) -> bool:
        flag = self.one(shape, SH_DEACTIVATED)
        return isinstance(flag, Literal) and flag.value == "true"

    def targets(self, shape: Node) -> _Targets:
        classes = [c for c in self.objects(shape, SH_TARGET_CLASS) if isinstance(c, NamedNode)]
        if len(classes) != len(self.objects(shape, SH_TARGET_CLASS)):
            raise UnsupportedShapeError(f"{_name(shape)}: sh:targetClass must be an IRI")
        if isinstance(shape, NamedNode) and shape in self.class_shapes:
            classes.append(shape)  # implicit class target: the shape is also a class
        nodes = self.objects(shape, SH_TARGET_NODE)
        if any(isinstance(n, BlankNode | Triple) for n in nodes):
            raise UnsupportedShapeError(f"{_name(shape)}: a blank node as sh:targetNode is not compiled")
        linked = {}
        for parameter in (SH_TARGET_SUBJECTS_OF, SH_TARGET_OBJECTS_OF):
            linked[parameter] = [p for p in self.objects(shape, parameter) if isinstance(p, NamedNode)]
            if len(linked[parameter]) != len(self.objects(shape, parameter)):
                raise UnsupportedShapeError(f"{_name(shape)}: {_name(parameter)} must be an IRI")
        return _Targets(
            frozenset(self.descendants(classes)),
            frozenset(nodes),
            frozenset(linked[SH_TARGET_SUBJECTS_OF]),
            frozenset(linked[SH_TARGET_OBJECTS_OF]),
        )

    @cached_property
    def class_shapes(self) -> set[Term]:
        """Nodes of the shapes graph typed rdfs:Class (or a subclass of it): shapes that target themselves."""
        classes = set(self.descendants([RDFS_CLASS]))
        return {q.subject for q in self.shapes.quads_for_pattern(None, ns.RDF_TYPE, None, None) if q.object in classes}

    def path(self, shape: Node) -> _Path:
        path = self.one(shape, SH_PATH)
        if isinstance(path, NamedNode):
            return _Path(path)
        if isinstance(path, BlankNode):
            inverse = self.one(path, SH_INVERSE_PATH)
            quads = self.shapes.quads_for_pattern(path, None, None, None)
            others = {q.predicate for q in quads} - {SH_INVERSE_PATH}
            if isinstance(inverse, NamedNode) and not others:
                return _Path(inverse, inverse=True)
        raise UnsupportedShapeError(f"{_name(shape)}: sh:path must be an IRI or [ sh:inversePath IRI ]")

    def messages(self, node: Node) -> list[Literal]:
        """The sh:message values of a shape or SPARQL constraint."""
        return [m for m in self.objects(node, SH_MESSAGE) if isinstance(m, Literal)]

    def severity(self, shape: Node) -> tuple[Severity, NamedNode]:
        severity = self.one(shape, SH_SEVERITY)
        if severity is None:
            return Severity.VIOLATION, _sh("Violation")
        if not isinstance(severity, NamedNode) or severity not in _SEVERITIES:
            raise UnsupportedShapeError(f"{_name(shape)}: unknown sh:severity {severity}")
        return _SEVERITIES[severity], severity

    def compile_shape(self, shape: Node, reported: str, path: _Path, targets: _Targets) -> Iterator[CompiledQuery]:
        """Yield the queries of one shape's constraints (a node shape's with ``_Path()``)."""
        emit = _Emitter(reported, self.severity(shape), self.messages(shape), path, targets, shape)
        min_count = self.count(shape, SH_MIN_COUNT)
        max_count = self.count(shape, SH_MAX_COUNT)
        if path.predicate is None and (min_count is not None or max_count is not None):
            raise UnsupportedShapeError(f"{reported}: sh:minCount / sh:maxCount need a sh:path")
        if min_count == 1:
            yield emit("shacl_min_count_one.rq", "MinCountConstraintComponent")
        elif min_count:
            yield emit("shacl_count.rq", "MinCountConstraintComponent", {"minCount": Literal(min_count)})
        if max_count == 1:
            yield emit("shacl_max_count_one.rq", "MaxCountConstraintComponent")
        elif max_count is not None:
            yield emit("shacl_count.rq", "MaxCountConstraintComponent", {"maxCount": Literal(max_count)})

        for parameter, (template, component, variable) in _VALUE_PARAMETERS.items():
            for term in self.objects(shape, parameter):
                self.check_value(reported, parameter, term)
                if parameter == SH_LESS_THAN_OR_EQUALS and path.predicate is None:
                    raise UnsupportedShapeError(f"{reported}: sh:lessThanOrEquals needs a sh:path")
                if parameter == SH_DATATYPE and term == _INTEGER:
                    yield emit("shacl_datatype_integer.rq", component, {"datatype": term})
                    continue
                yield emit(template, component, {variable: term})

        for cls in self.objects(shape, SH_CLASS):
            if not isinstance(cls, NamedNode):
                raise UnsupportedShapeError(f"{reported}: sh:class must be an IRI")
            yield self.class_query(emit, "ClassConstraintComponent", [cls])
        for head in self.objects(shape, SH_OR):
            yield self.class_query(emit, "OrConstraintComponent", self.or_classes(reported, head))
        for head in self.objects(shape, SH_IN):
            allowed = _values("allowed", self.items(head))
            yield emit("shacl_in.rq", "InConstraintComponent", blocks={"allowed": allowed})
        pattern = self.one(shape, SH_PATTERN)
        if pattern is not None:
            flags = self.one(shape, SH_FLAGS) or Literal("")
            if not (isinstance(pattern, Literal) and isinstance(flags, Literal)):
                raise UnsupportedShapeError(f"{reported}: sh:pattern and sh:flags must be literals")
            yield emit("shacl_pattern.rq", "PatternConstraintComponent", {"pattern": pattern, "flags": flags})

        for constraint in self.objects(shape, SH_SPARQL):
            if not isinstance(constraint, NamedNode | BlankNode):
                raise UnsupportedShapeError(f"{reported}: sh:sparql must be a node")
            if not self.deactivated(constraint):
                text = self.sparql(reported, constraint, emit.target_block)
                yield emit.sparql(text, self.messages(constraint) or list(emit.messages), constraint)

    def class_query(self, emit: _Emitter, component: str, classes: list[NamedNode]) -> CompiledQuery:
        allowed = self.descendants(classes)
        blocks = {
            "classes": _values("class", allowed),
            "instances": _values("instance", self.individuals(allowed)),
        }
        return emit("shacl_class.rq", component, blocks=blocks)

    def or_classes(self, reported: str, head: Term) -> list[NamedNode]:
        """Return the classes of an ``sh:or`` whose members are all ``[ sh:class C ]``."""
        classes: list[NamedNode] = []
        for member in self.items(head):
            cls = None
            if isinstance(member, NamedNode | BlankNode):
                quads = self.shapes.quads_for_pattern(member, None, None, None)
                if {q.predicate for q in quads} - {ns.RDF_TYPE} == {SH_CLASS}:
                    cls = self.one(member, SH_CLASS)
            if not isinstance(cls, NamedNode):
                raise UnsupportedShapeError(f"{reported}: sh:or takes only members [ sh:class C ]")
            classes.append(cls)
        return classes

    def count(self, shape: Node, parameter: NamedNode) -> int | None:
        term = self.one(shape, parameter)
        if term is None:
            return None
        if not (isinstance(term, Literal) and term.value.isdigit()):
            raise UnsupportedShapeError(f"{_name(shape)}: {_name(parameter)} must be a non-negative integer")
        return int(term.value)

    def check_value(self, reported: str, parameter: NamedNode, term: Term) -> None:
        iri_valued = (SH_DATATYPE, SH_CLASS, SH_NODE_KIND, SH_LESS_THAN_OR_EQUALS)
        if parameter in iri_valued and not isinstance(term, NamedNode):
            raise UnsupportedShapeError(f"{reported}: {_name(parameter)} must be an IRI")
        known = (ns.XSD_BASE, ns.RDF_BASE)
        checked = _CHECKED_DATATYPES | {_INTEGER}
        if (
            parameter == SH_DATATYPE
            and isinstance(term, NamedNode)
            and term.value.startswith(known)
            and term not in checked
        ):
            raise UnsupportedShapeError(f"{reported}: sh:datatype {_name(term)} has no lexical check compiled")
        if parameter == SH_NODE_KIND and term not in _NODE_KINDS:
            raise UnsupportedShapeError(f"{reported}: unknown sh:nodeKind {term}")
        bounds = (SH_MIN_INCLUSIVE, SH_MAX_INCLUSIVE, SH_MIN_EXCLUSIVE, SH_MAX_EXCLUSIVE)
        if parameter in bounds and not isinstance(term, Literal):
            raise UnsupportedShapeError(f"{reported}: {_name(parameter)} must be a literal")

    def sparql(self, reported: str, constraint: Node, target_block: str) -> str:
        """Return a SHACL-SPARQL SELECT with the focus nodes bound at the start of its WHERE clause."""
        select = self.one(constraint, SH_SELECT)
        if not isinstance(select, Literal):
            raise UnsupportedShapeError(f"{reported}: sh:sparql needs one sh:select (ASK is not supported)")
        body = select.value
        if _RESERVED_SPARQL_VARIABLES.search(body):
            raise UnsupportedShapeError(f"{reported}: $PATH, $currentShape, $shapesGraph are not supported")
        keyword = _SELECT.search(body)
        brace = body.find("{", keyword.end()) if keyword else -1
        if brace < 0:
            raise UnsupportedShapeError(f"{reported}: sh:select is not a SELECT query")
        _check_pre_binding(reported, body[brace + 1 :])
        prologue = "".join(f"PREFIX {p}: {n}\n" for p, n in self.prefixes(reported, constraint))
        text = f"{prologue}{body[: brace + 1]}\n  {target_block}\n{body[brace + 1 :]}"
        try:
            Store().query(text)  # a query Oxigraph cannot parse is refused now, not at validation time
        except SyntaxError as exc:
            raise UnsupportedShapeError(f"{reported}: the sh:select does not parse ({exc})") from exc
        return text

    def prefixes(self, reported: str, constraint: Node) -> list[tuple[str, str]]:
        declared: dict[str, str] = {}
        for source in self.objects(constraint, SH_PREFIXES):
            for term in self.objects(_node(source, "sh:prefixes"), SH_DECLARE):
                declaration = _node(term, "sh:declare")
                prefix = self.one(declaration, SH_PREFIX)
                namespace = self.one(declaration, SH_NAMESPACE)
                if not isinstance(prefix, Literal) or not isinstance(namespace, Literal | NamedNode):
                    raise UnsupportedShapeError(f"{reported}: a sh:declare needs sh:prefix and sh:namespace")
                if not _PREFIX_NAME.fullmatch(prefix.value):
                    raise UnsupportedShapeError(f"{reported}: {prefix.value!r} is not a SPARQL prefix name")
                iri = str(NamedNode(namespace.value))
                if declared.setdefault(prefix.value, iri) != iri:
                    raise UnsupportedShapeError(f"{reported}: prefix {prefix.value!r} is declared twice")
        return sorted(declared.items())


_OPEN, _CLOSE = "{", "}"


def _check_pre_binding(reported: str, where: str) -> None:
    """Refuse a SPARQL constraint body the join with the focus nodes would not evaluate as SHACL pre-binding."""
    if _REFUSED_SPARQL.search(
        _SPARQL_TOKENS.sub(
            lambda m: m.group(0) if m.group(0)[0] in "{}?$" or m.group(0).upper() == "EXISTS" else " ", where
        )
    ):
        raise UnsupportedShapeError(f"{reported}: the sh:select uses MINUS, SERVICE, VALUES, a sub-SELECT or AS $this")
    groups: list[bool] = []  # per open group below WHERE: is it the body of an EXISTS?
    after_exists = False
    for match in _SPARQL_TOKENS.finditer(where):
        text = match.group(0)
        if text == _OPEN:
            groups.append(after_exists)
        elif text == _CLOSE:
            if groups:
                groups.pop()
        elif text[0] in "?$" and not all(groups):
            raise UnsupportedShapeError(f"{reported}: $this inside a nested group of the sh:select is not compiled")
        after_exists = text.upper() == "EXISTS"


def _node(term: Term, role: str) -> Node:
    """Return ``term`` if it is an IRI or a blank node, as shapes and list cells must be."""
    if not isinstance(term, NamedNode | BlankNode):
        raise UnsupportedShapeError(f"{term} is used where an IRI or blank node is needed ({role})")
    return term


def _values(variable: str, terms: Iterable[Term]) -> str:
    """Build a VALUES block from RDF terms, serialised by pyoxigraph."""
    return f"VALUES ?{variable} {{ {' '.join(str(t) for t in terms)} }}"


def _name(term: object) -> str:
    if isinstance(term, NamedNode):
        for prefix, base in (("ets:", SHAPES_BASE), ("sh:", _SH), ("et:", ns.ET_BASE)):
            if term.value.startswith(base):
                return prefix + term.value[len(base) :]
        return term.value
    return str(term)


def compile_shapes(shapes: Store, ontology: Store, *, individuals: bool = True) -> list[CompiledQuery]:
    """One query per constraint of every active shape in ``shapes`` (classes expanded by ``ontology``).

    ``individuals``: nodes the ontology types with a ``sh:class`` class count as its instances
    (off when the ontology is the data graph itself, whose instances the queries see anyway).
    """
    return _Compiler(shapes, ontology, individuals=individuals).compile()
