// The identity graph drawn with cytoscape: identifiers and profiles as nodes, identity decisions
// as labelled edges. Clicking an identifier selects it; the page beside it lists the same
// identifiers as buttons, so everything here can also be done with the keyboard.
//
// cytoscape is most of the console's code by size, so it is loaded only when a graph is shown.

import type cytoscape from 'cytoscape';
import { useEffect, useRef } from 'preact/hooks';
import type { IdentityGraph } from '../identity_graph.ts';

export interface IdentityGraphViewProps {
  graph: IdentityGraph;
  // The node the layout starts from: the live profile.
  rootId: string;
  selected: string | null;
  onSelect: (identifier: string) => void;
  summary: string;
}

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: {
      label: 'data(label)', 'font-size': 11, 'text-valign': 'center', 'text-halign': 'center', color: '#1b1f24',
      'text-wrap': 'ellipsis', 'text-max-width': '180px', height: 26, padding: '8px',
      // Wide enough for the label (cytoscape's width: 'label' is deprecated).
      width: (node: cytoscape.NodeSingular) => Math.min(196, 16 + 6.6 * String(node.data('label')).length),
      'background-color': '#e8eef6', 'border-width': 1, 'border-color': '#8aa0b8',
    },
  },
  { selector: 'node[kind = "identifier"]', style: { shape: 'round-rectangle' } },
  { selector: 'node[kind = "identifier"][?current]', style: { 'background-color': '#d7ecff', 'border-color': '#0b62c4' } },
  { selector: 'node[kind = "identifier"][!current]', style: { 'background-color': '#f3f3f3', 'border-style': 'dashed', color: '#5b6470' } },
  { selector: 'node[kind = "profile"]', style: { shape: 'ellipse', 'background-color': '#fff4d6', 'border-color': '#b07d00', 'font-weight': 'bold' } },
  { selector: 'node[kind = "profile"][?current]', style: { 'background-color': '#ffe08a', 'border-width': 3 } },
  { selector: 'node:selected', style: { 'border-width': 4, 'border-color': '#d1242f', 'overlay-opacity': 0 } },
  {
    selector: 'edge',
    style: {
      width: 1.5, 'line-color': '#8c959f', 'target-arrow-color': '#8c959f', 'target-arrow-shape': 'triangle',
      'curve-style': 'bezier', label: 'data(label)', 'text-rotation': 'autorotate', 'text-wrap': 'wrap', 'text-max-width': '160px',
      'text-background-color': '#ffffff', 'text-background-opacity': 0.85, 'text-background-padding': '2px', color: '#3d444d',
      'font-size': 9,
    },
  },
  { selector: 'edge[kind = "merge"]', style: { width: 3, 'line-color': '#0b62c4', 'target-arrow-color': '#0b62c4' } },
  { selector: 'edge[kind = "probabilistic"]', style: { width: 3, 'line-style': 'dashed', 'line-color': '#8250df', 'target-arrow-color': '#8250df' } },
  { selector: 'edge[kind = "drop"]', style: { 'line-style': 'dotted', 'line-color': '#d1242f', 'target-arrow-color': '#d1242f' } },
  { selector: 'edge[kind = "quarantine"]', style: { 'line-color': '#d1242f', 'target-arrow-color': '#d1242f' } },
  { selector: 'edge[kind = "unmerge"]', style: { 'line-style': 'dashed', 'line-color': '#bc4c00', 'target-arrow-color': '#bc4c00' } },
];

function draw(
  cytoscape: typeof import('cytoscape'),
  element: HTMLElement,
  graph: IdentityGraph,
  rootId: string,
  onSelect: (identifier: string) => void,
): cytoscape.Core {
  const instance = cytoscape({
    container: element,
    elements: [
      ...graph.nodes.map((node) => ({ group: 'nodes' as const, data: { ...node } })),
      ...graph.edges.map((edge) => ({ group: 'edges' as const, data: { ...edge } })),
    ],
    style: STYLE,
    // A tree from the live profile: its identifiers and the profiles merged into it one level
    // down, their identifiers below them.
    layout: { name: 'breadthfirst', roots: [rootId], directed: false, spacingFactor: 1.4, padding: 30, animate: false },
    minZoom: 0.2,
    maxZoom: 3,
    boxSelectionEnabled: false,
  });
  instance.on('tap', 'node[kind = "identifier"]', (event) => onSelect(String(event.target.data('label'))));
  return instance;
}

export function IdentityGraphView({ graph, rootId, selected, onSelect, summary }: IdentityGraphViewProps) {
  const container = useRef<HTMLDivElement>(null);
  const cy = useRef<cytoscape.Core | null>(null);
  const select = useRef(onSelect);
  select.current = onSelect;
  const selectedRef = useRef(selected);
  selectedRef.current = selected;

  useEffect(() => {
    let instance: cytoscape.Core | null = null;
    let cancelled = false;
    void import('cytoscape').then(({ default: cytoscape }) => {
      if (cancelled || !container.current) return;
      instance = draw(cytoscape, container.current, graph, rootId, (identifier) => select.current(identifier));
      cy.current = instance;
      if (selectedRef.current) instance.getElementById(`identifier:${selectedRef.current}`).select();
    });
    return () => {
      cancelled = true;
      instance?.destroy();
      cy.current = null;
    };
  }, [graph]);

  useEffect(() => {
    const instance = cy.current;
    if (!instance) return;
    instance.nodes().unselect();
    if (selected) instance.getElementById(`identifier:${selected}`).select();
  }, [selected, graph]);

  return (
    <div class="graph-canvas" ref={container} role="img" aria-label={summary} data-testid="identity-graph-canvas" />
  );
}
