// The identity graph of one profile, from GET /v1/profiles/{ref}/merges, as nodes and edges.
//
// Nodes are identifiers (labelled type:value) and profiles (the live one and those merged into it
// or split from it). Edges carry the identity decision that joined them, labelled with the rule
// and the time, and the score of a probabilistic link:
//   link           profile -> identifier it took on
//   drop           profile -> identifier a rule kept off it (dashed)
//   quarantine     profile -> identifier that stopped taking part in matching
//   merge, probabilistic, unmerge   other profile -> profile
// The result is plain data; the page hands it to cytoscape. No DOM: unit-tested.

export interface IdentityEdgeRecord {
  kind: string;
  rule: string;
  profile: string;
  other_profile?: string;
  identifiers: string[];
  message_id?: string;
  seq?: number;
  time: string;
  score?: number;
}

export interface GraphNode {
  id: string;
  label: string;
  kind: 'identifier' | 'profile';
  // identifier: held by the live profile now / not; profile: the live one / another.
  current: boolean;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  kind: string;
  label: string;
}

export interface IdentityGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const PROFILE_EDGE_KINDS = new Set(['merge', 'probabilistic', 'unmerge']);

// `profileId` is the live profile; `heldIdentifiers` the type:value identifiers it holds now.
// `formatTime` renders an edge's time for its label.
export function buildIdentityGraph(
  profileId: string,
  heldIdentifiers: readonly string[],
  edges: readonly IdentityEdgeRecord[],
  formatTime: (iso: string) => string,
): IdentityGraph {
  const held = new Set(heldIdentifiers);
  const nodes = new Map<string, GraphNode>();
  const addProfile = (id: string) => {
    if (!nodes.has(nodeId('profile', id))) {
      nodes.set(nodeId('profile', id), { id: nodeId('profile', id), label: id, kind: 'profile', current: id === profileId });
    }
  };
  const addIdentifier = (identifier: string) => {
    if (!nodes.has(nodeId('identifier', identifier))) {
      nodes.set(nodeId('identifier', identifier), {
        id: nodeId('identifier', identifier), label: identifier, kind: 'identifier', current: held.has(identifier),
      });
    }
  };
  addProfile(profileId);
  for (const identifier of heldIdentifiers) addIdentifier(identifier);

  const graphEdges: GraphEdge[] = [];
  edges.forEach((edge, index) => {
    const label = edgeLabel(edge, formatTime);
    addProfile(edge.profile);
    if (PROFILE_EDGE_KINDS.has(edge.kind) && edge.other_profile && edge.other_profile !== edge.profile) {
      addProfile(edge.other_profile);
      graphEdges.push({
        id: `e${index}`, source: nodeId('profile', edge.other_profile), target: nodeId('profile', edge.profile),
        kind: edge.kind, label,
      });
      return;
    }
    edge.identifiers.forEach((identifier, position) => {
      addIdentifier(identifier);
      graphEdges.push({
        id: `e${index}.${position}`, source: nodeId('profile', edge.profile), target: nodeId('identifier', identifier),
        kind: edge.kind, label,
      });
    });
  });
  return { nodes: [...nodes.values()], edges: graphEdges };
}

// "rule\ntime" and, for a probabilistic link, the score.
export function edgeLabel(edge: IdentityEdgeRecord, formatTime: (iso: string) => string): string {
  const lines = [edge.rule, formatTime(edge.time)];
  if (typeof edge.score === 'number') lines.push(`score ${edge.score}`);
  return lines.join('\n');
}

export function nodeId(kind: 'identifier' | 'profile', key: string): string {
  return `${kind}:${key}`;
}
