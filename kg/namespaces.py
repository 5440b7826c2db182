"""Every IRI enertwin uses, defined once.

Other modules import terms from here instead of writing IRI strings, so that a
renamed term changes in one place (the habit of pySHACL's ``consts.py``).
"""

from __future__ import annotations

from typing import Final

from pyoxigraph import NamedNode

ONTOLOGY_VERSION: Final = "0.1.0"

ET_BASE: Final = "https://w3id.org/enertwin/ontology#"
ONTOLOGY_IRI: Final = NamedNode("https://w3id.org/enertwin/ontology")
ONTOLOGY_VERSION_IRI: Final = NamedNode(f"https://w3id.org/enertwin/ontology/{ONTOLOGY_VERSION}")
ID_BASE: Final = "https://w3id.org/enertwin/id/"
GRAPH_BASE: Final = "https://w3id.org/enertwin/graph/"
UNIT_BASE: Final = "https://w3id.org/enertwin/unit/"
MAPPING_BASE: Final = "https://w3id.org/enertwin/mapping#"

RDF_BASE: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_BASE: Final = "http://www.w3.org/2000/01/rdf-schema#"
OWL_BASE: Final = "http://www.w3.org/2002/07/owl#"
XSD_BASE: Final = "http://www.w3.org/2001/XMLSchema#"
SH_BASE: Final = "http://www.w3.org/ns/shacl#"
PROV_BASE: Final = "http://www.w3.org/ns/prov#"
SOSA_BASE: Final = "http://www.w3.org/ns/sosa/"
QUDT_BASE: Final = "http://qudt.org/schema/qudt/"
QUDT_UNIT_BASE: Final = "http://qudt.org/vocab/unit/"

PREFIXES: Final = {
    "et": ET_BASE,
    "etid": ID_BASE,
    "etg": GRAPH_BASE,
    "etunit": UNIT_BASE,
    "etmap": MAPPING_BASE,
    "rdf": RDF_BASE,
    "rdfs": RDFS_BASE,
    "owl": OWL_BASE,
    "xsd": XSD_BASE,
    "sh": SH_BASE,
    "prov": PROV_BASE,
    "sosa": SOSA_BASE,
    "qudt": QUDT_BASE,
    "unit": QUDT_UNIT_BASE,
}


def et(local: str) -> NamedNode:
    """Return the ontology term ``et:local``."""
    return NamedNode(ET_BASE + local)


RDF_TYPE: Final = NamedNode(RDF_BASE + "type")
RDFS_LABEL: Final = NamedNode(RDFS_BASE + "label")
RDFS_SUBCLASS_OF: Final = NamedNode(RDFS_BASE + "subClassOf")
OWL_VERSION_IRI: Final = NamedNode(OWL_BASE + "versionIRI")
XSD_DOUBLE: Final = NamedNode(XSD_BASE + "double")
XSD_INTEGER: Final = NamedNode(XSD_BASE + "integer")
XSD_BOOLEAN: Final = NamedNode(XSD_BASE + "boolean")
XSD_STRING: Final = NamedNode(XSD_BASE + "string")
XSD_DATETIME: Final = NamedNode(XSD_BASE + "dateTime")
XSD_DURATION: Final = NamedNode(XSD_BASE + "duration")
PROV_WAS_GENERATED_BY: Final = NamedNode(PROV_BASE + "wasGeneratedBy")
PROV_STARTED_AT: Final = NamedNode(PROV_BASE + "startedAtTime")
PROV_ENDED_AT: Final = NamedNode(PROV_BASE + "endedAtTime")
PROV_USED: Final = NamedNode(PROV_BASE + "used")
PROV_GENERATED: Final = NamedNode(PROV_BASE + "generated")
PROV_ACTIVITY: Final = NamedNode(PROV_BASE + "Activity")
PROV_ENTITY: Final = NamedNode(PROV_BASE + "Entity")
PROV_AGENT: Final = NamedNode(PROV_BASE + "Agent")
PROV_SOFTWARE_AGENT: Final = NamedNode(PROV_BASE + "SoftwareAgent")
PROV_PERSON: Final = NamedNode(PROV_BASE + "Person")
PROV_ORGANIZATION: Final = NamedNode(PROV_BASE + "Organization")
PROV_ASSOCIATION: Final = NamedNode(PROV_BASE + "Association")
PROV_WAS_ASSOCIATED_WITH: Final = NamedNode(PROV_BASE + "wasAssociatedWith")
PROV_QUALIFIED_ASSOCIATION: Final = NamedNode(PROV_BASE + "qualifiedAssociation")
PROV_AGENT_PROP: Final = NamedNode(PROV_BASE + "agent")
PROV_HAD_ROLE: Final = NamedNode(PROV_BASE + "hadRole")
PROV_ACTED_ON_BEHALF_OF: Final = NamedNode(PROV_BASE + "actedOnBehalfOf")
PROV_WAS_ATTRIBUTED_TO: Final = NamedNode(PROV_BASE + "wasAttributedTo")
PROV_WAS_DERIVED_FROM: Final = NamedNode(PROV_BASE + "wasDerivedFrom")
PROV_WAS_INFORMED_BY: Final = NamedNode(PROV_BASE + "wasInformedBy")
PROV_SPECIALIZATION_OF: Final = NamedNode(PROV_BASE + "specializationOf")
PROV_GENERATED_AT: Final = NamedNode(PROV_BASE + "generatedAtTime")
PROV_INVALIDATED: Final = NamedNode(PROV_BASE + "invalidated")

# Classes
ASSET: Final = et("Asset")
THERMAL_UNIT: Final = et("ThermalUnit")
RENEWABLE_UNIT: Final = et("RenewableUnit")
STORAGE: Final = et("Storage")
LOAD: Final = et("Load")
EXTERNAL_GRID: Final = et("ExternalGrid")
BUS: Final = et("Bus")
LINE: Final = et("Line")
TRANSFORMER: Final = et("Transformer")
SWITCH: Final = et("Switch")
GRID: Final = et("Grid")
METER: Final = et("Meter")
FUEL_TYPE: Final = et("FuelType")
MARKET: Final = et("Market")
COST_MODEL: Final = et("CostModel")
COST_ENTRY: Final = et("CostEntry")
DECISION: Final = et("Decision")
SCHEDULE: Final = et("Schedule")
SCHEDULE_SERIES: Final = et("ScheduleSeries")
TIME_SERIES: Final = et("TimeSeries")
PROFILE: Final = et("Profile")
IMPORT_ACTIVITY: Final = et("Import")
CHANGE_ACTIVITY: Final = et("Change")
GRAPH_DELTA: Final = et("GraphDelta")
PROVENANCE_RECORD: Final = et("ProvenanceRecord")
KEY_PUBLICATION: Final = et("KeyPublication")
APPROVAL: Final = et("Approval")
OVERRIDE: Final = et("Override")
POLICY_VERDICT: Final = et("PolicyVerdict")
AGENT_ACTION: Final = et("AgentAction")
REPLAY: Final = et("Replay")
REMOVAL: Final = et("Removal")
GRAPH_VERSION: Final = et("GraphVersion")
CHANGED_PROPERTY: Final = et("changedProperty")
SERIES_SNAPSHOT: Final = et("SeriesSnapshot")
SERIES_VALUES: Final = et("SeriesValues")
SIGNING_KEY: Final = et("SigningKey")
DATA_QUALITY_INCIDENT: Final = et("DataQualityIncident")
OPTIMIZER_ROLE: Final = et("OptimizerRole")
IMPORTER_ROLE: Final = et("ImporterRole")
APPROVER_ROLE: Final = et("ApproverRole")
OPERATOR_ROLE: Final = et("OperatorRole")
POLICY_ENGINE_ROLE: Final = et("PolicyEngineRole")
STORE_METADATA: Final = et("StoreMetadata")

# Object properties
AT_BUS: Final = et("atBus")
FROM_BUS: Final = et("fromBus")
TO_BUS: Final = et("toBus")
HV_BUS: Final = et("hvBus")
LV_BUS: Final = et("lvBus")
SWITCH_BUS: Final = et("switchBus")
SWITCHED_ELEMENT: Final = et("switchedElement")
IN_GRID: Final = et("inGrid")
HAS_FUEL_TYPE: Final = et("hasFuelType")
HAS_PROFILE: Final = et("hasProfile")
TRADES_ON: Final = et("tradesOn")
MEASURES: Final = et("measures")
HAS_UNIT: Final = et("hasUnit")

# Datatype properties (quantities carry their unit on the property: et:unitOfMeasure)
SOURCE_NAME: Final = et("sourceName")
SOURCE_TYPE: Final = et("sourceType")
SOURCE_CODE: Final = et("sourceCode")
TECHNOLOGY: Final = et("technology")
FUEL_CODE: Final = et("fuelCode")
IN_SERVICE: Final = et("inService")
IS_CLOSED: Final = et("isClosed")
VOLTAGE_LEVEL: Final = et("voltageLevel")
SUBNET: Final = et("subnet")
NOMINAL_VOLTAGE: Final = et("nominalVoltage")
ACTIVE_POWER: Final = et("activePower")
MIN_ACTIVE_POWER: Final = et("minActivePower")
MAX_ACTIVE_POWER: Final = et("maxActivePower")
RATED_APPARENT_POWER: Final = et("ratedApparentPower")
ENERGY_CAPACITY: Final = et("energyCapacity")
MIN_ENERGY: Final = et("minEnergy")
ROUND_TRIP_EFFICIENCY: Final = et("roundTripEfficiency")
SELF_DISCHARGE: Final = et("selfDischargePercentPerDay")
LENGTH: Final = et("length")
RESISTANCE_PER_KM: Final = et("resistancePerKm")
REACTANCE_PER_KM: Final = et("reactancePerKm")
MAX_CURRENT: Final = et("maxCurrent")
MEASURED_VARIABLE: Final = et("measuredVariable")
SERIES_KEY: Final = et("seriesKey")
STORED_IN: Final = et("storedIn")
RESOLUTION: Final = et("resolution")
START_TIME: Final = et("startTime")
TIME_ZONE: Final = et("timeZone")
STEP_COUNT: Final = et("stepCount")
SOURCE: Final = et("source")
ONTOLOGY_VERSION_PROP: Final = et("ontologyVersion")
SERIES_DATABASE: Final = et("seriesDatabase")  # where a remote store keeps its series (no password)
CURRENT_VERSION: Final = et("currentVersion")
CONTENT_HASH: Final = et("contentHash")
INPUT_HASH: Final = et("inputHash")
TRIPLE_COUNT: Final = et("tripleCount")
VALUES_KEY: Final = et("valuesKey")
PRICE_REFERENCE_GRID: Final = et("priceReferenceGrid")
HAS_SERIES: Final = et("hasSeries")
FOR_ASSET: Final = et("forAsset")
SCHEDULED_QUANTITY: Final = et("scheduledQuantity")
DISPATCHED_GRID: Final = et("dispatchedGrid")
HORIZON_START: Final = et("horizonStart")
SOLVER_NAME: Final = et("solverName")
SOLVER_STATUS: Final = et("solverStatus")
OBJECTIVE_VALUE: Final = et("objectiveValue")
BEST_BOUND: Final = et("bestBound")
TIME_LIMIT: Final = et("timeLimit")
DETERMINISTIC_TIME_LIMIT: Final = et("deterministicTimeLimit")
RELATIVE_GAP_LIMIT: Final = et("relativeGapLimit")
ABSOLUTE_GAP_LIMIT: Final = et("absoluteGapLimit")
WORKER_COUNT: Final = et("workerCount")
RANDOM_SEED: Final = et("randomSeed")
SEQUENCE_NUMBER: Final = et("sequenceNumber")
PREVIOUS_RECORD_HASH: Final = et("previousRecordHash")
RECORDS_ACTIVITY: Final = et("recordsActivity")
RECORD_HASH: Final = et("recordHash")
SIGNATURE: Final = et("signature")
SIGNED_BY: Final = et("signedBy")
PUBLIC_KEY: Final = et("publicKey")
TREE_SIZE: Final = et("treeSize")
ROOT_HASH: Final = et("rootHash")
RETAINED: Final = et("retained")
# Versions kept as reverse deltas on the live content (kg/store_versions.py)
HOLDS_VERSION: Final = et("holdsVersion")
RECONSTRUCTED_FROM: Final = et("reconstructedFrom")
REVERSE_DELTA: Final = et("reverseDelta")
REMOVED_GRAPH: Final = et("removedGraph")
ADDED_GRAPH: Final = et("addedGraph")
CASE_NAME: Final = et("caseName")
WINDOW_STEPS: Final = et("windowSteps")
OVERLAP_STEPS: Final = et("overlapSteps")
VERDICT: Final = et("verdict")
REASON: Final = et("reason")
CONCERNS: Final = et("concerns")
SOFTWARE_VERSION: Final = et("softwareVersion")
IDENTICAL: Final = et("identical")
LP_GUIDED: Final = et("lpGuided")

# --- issue 12: loop ---
TELEMETRY_INGEST_ROLE: Final = et("TelemetryIngestRole")
ACTUATOR_ROLE: Final = et("ActuatorRole")
FORECASTER_ROLE: Final = et("ForecasterRole")
COORDINATOR_ROLE: Final = et("CoordinatorRole")
ET_SOFTWARE_AGENT: Final = et("SoftwareAgent")
HAS_ROLE: Final = et("hasRole")
AGENT_REGISTRATION: Final = et("AgentRegistration")
PROPOSING: Final = et("Proposing")
PROPOSED_ACTION: Final = et("ProposedAction")
ACTUATION: Final = et("Actuation")
FALLBACK: Final = et("Fallback")
INCIDENT_REPORT: Final = et("IncidentReport")
AGENT_CONFIGURATION: Final = et("agentConfiguration")
DECISION_HASH: Final = et("decisionHash")
EVENT_ID: Final = et("eventId")
INCIDENT_KIND: Final = et("incidentKind")
SEVERITY: Final = et("severity")
OPERATING_TIME: Final = et("operatingTime")
SETPOINTS_JSON: Final = et("setpoints")
COST_IMPACT: Final = et("costImpact")
ACTUATION_MODE: Final = et("actuationMode")
IS_FALLBACK: Final = et("isFallback")

# --- issue 12: control ---
KILL_SWITCH_GRAPH: Final = NamedNode(GRAPH_BASE + "kill-switches")
APPROVAL_GRAPH: Final = NamedNode(GRAPH_BASE + "approvals")
KILL_SWITCH: Final = et("KillSwitch")
KILL_SWITCH_PULL: Final = et("KillSwitchPull")
KILL_SWITCH_RELEASE: Final = et("KillSwitchRelease")
SWITCH_SCOPE: Final = et("switchScope")
SWITCH_TARGET: Final = et("switchTarget")
APPROVAL_REQUEST: Final = et("ApprovalRequest")
ESCALATION: Final = et("Escalation")
REJECTION: Final = et("Rejection")
APPROVAL_EXPIRY: Final = et("ApprovalExpiry")
PROPOSAL_ID: Final = et("proposalId")
APPROVAL_STATUS: Final = et("approvalStatus")
DEADLINE: Final = et("deadline")
PROPOSAL_DOCUMENT: Final = et("proposalDocument")
REQUESTED_BY: Final = et("requestedBy")
DECIDED_BY: Final = et("decidedBy")
DECIDED_AT: Final = et("decidedAt")
# --- issue 12: policy ---
POLICY_BASE: Final = "https://w3id.org/enertwin/policy/"
POLICY_SET: Final = et("PolicySet")
POLICY_VERSION: Final = et("policyVersion")
POLICY_STATE: Final = et("PolicyState")
ACTIVE_POLICY_SET: Final = et("activePolicySet")
ACTIVATION: Final = et("activation")
STACK_POSITION: Final = et("stackPosition")
ACTIVATED_SET: Final = et("activatedSet")
POLICY_ACTIVATION: Final = et("PolicyActivation")
POLICY_ROLLBACK: Final = et("PolicyRollback")
REPLACED_POLICY_SET: Final = et("replacedPolicySet")
BROKE_RULE: Final = et("brokeRule")
PROPOSED_SETPOINT: Final = et("ProposedSetpoint")
APPLIED_SETPOINT: Final = et("AppliedSetpoint")
OF_ACTION: Final = et("ofAction")
SETS_ASSET: Final = et("setsAsset")
SETPOINT_TIME: Final = et("setpointTime")
LOCAL_HOUR: Final = et("localHour")
SETPOINT_POWER: Final = et("setpointPower")
SETPOINT_STORED_ENERGY: Final = et("setpointStoredEnergy")
SETPOINT_COMMITTED: Final = et("setpointCommitted")
FOLLOWS: Final = et("follows")
MINUTES_AFTER: Final = et("minutesAfter")
MARKET_POSITION: Final = et("marketPosition")
PROPOSED_COST: Final = et("proposedCost")
DAY_EMISSIONS: Final = et("dayEmissions")
UNSERVED_ENERGY: Final = et("unservedEnergy")
SETPOINT_CHANGE: Final = et("setpointChange")
FOR_FUEL_TYPE: Final = et("forFuelType")
RAMP_SHARE: Final = et("rampShare")
# --- issue 12: settings ---
AGENT_SETTINGS_GRAPH: Final = NamedNode(GRAPH_BASE + "agent-settings")
AGENT_SETTINGS_NODE: Final = NamedNode(ID_BASE + "agent-settings")
AGENT_SETTINGS: Final = et("AgentSettings")
AGENT_SETTING: Final = et("agentSetting")
GATE_MAX_AGE: Final = et("gateMaxAge")
GATE_FROZEN_COUNT: Final = et("gateFrozenCount")
GATE_RANGE_MARGIN: Final = et("gateRangeMargin")
TELEMETRY_DEADLINE: Final = et("telemetryDeadline")
PROPOSAL_DEADLINE: Final = et("proposalDeadline")
VERDICT_DEADLINE: Final = et("verdictDeadline")
APPROVAL_WAIT: Final = et("approvalWait")
APPROVAL_WINDOW: Final = et("approvalWindow")
FORECAST_SEASON: Final = et("forecastSeason")
