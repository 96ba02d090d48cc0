// A line chart over time (uPlot), sized to its container.
//
// uPlot fixes its series when it is created, so the chart is rebuilt when the series' labels
// change and only given new data otherwise. The canvas is hidden from screen readers: `summary`
// says in words what it shows, and each page also shows the numbers as text.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

export interface TimeChartProps {
  // Seconds since the epoch, ascending.
  times: number[];
  series: ChartSeries[];
  summary: string;
  height?: number;
  // Draw steps (a size that holds until the next point) instead of lines.
  stepped?: boolean;
  valueLabel?: string;
  // Show this many seconds ending at the last point, so a chart that has just started does not
  // stretch its first seconds over the whole width.
  windowSeconds?: number;
  testId?: string;
}

// Colours that stay apart for common colour-vision deficiencies (Okabe-Ito).
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'];

export function seriesColour(index: number): string {
  return PALETTE[index % PALETTE.length];
}

export function TimeChart({ times, series, summary, height = 240, stepped, valueLabel, windowSeconds, testId }: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('\u0000');
  const data = [times, ...series.map((s) => s.values)] as uPlot.AlignedData;

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const paths = stepped ? uPlot.paths.stepped?.({ align: 1 }) : undefined;
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height,
      series: [
        {},
        ...series.map((s, index) => ({
          label: s.label,
          stroke: seriesColour(index),
          width: 2,
          spanGaps: false,
          paths,
          points: { show: false },
        })),
      ],
      axes: [{}, { label: valueLabel, size: 60 }],
      scales: {
        x: windowSeconds ? { time: true, range: (_self, _min, max) => [max - windowSeconds, max] } : { time: true },
        y: { range: (_self, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    chart.current = new uPlot(options, data, element);
    const observer = new ResizeObserver(() => {
      chart.current?.setSize({ width: Math.max(200, element.clientWidth), height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [labels, height, stepped, valueLabel, windowSeconds]);

  useEffect(() => {
    chart.current?.setData(data);
  });

  return (
    <figure class="chart" data-testid={testId}>
      <div ref={container} aria-hidden="true" />
      <figcaption class="visually-hidden">{summary}</figcaption>
    </figure>
  );
}
