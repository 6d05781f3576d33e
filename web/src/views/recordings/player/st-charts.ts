// The two charts of the S-T analysis, drawn with ECharts. Only the pieces
// used are registered (echarts/core), and the player loads this module with
// a dynamic import: no other page carries ECharts.

import { LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import { init, use, type ComposeOption, type ECharts } from 'echarts/core';
import type { LineSeriesOption, ScatterSeriesOption } from 'echarts/charts';
import type { GridComponentOption, MarkAreaComponentOption, MarkLineComponentOption, TooltipComponentOption } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

use([LineChart, ScatterChart, GridComponent, TooltipComponent, MarkLineComponent, MarkAreaComponent, SVGRenderer]);

type Option = ComposeOption<LineSeriesOption | ScatterSeriesOption | GridComponentOption | TooltipComponentOption | MarkLineComponentOption | MarkAreaComponentOption>;

const teacher = '#7c3aed';
const student = '#0891b2';
const muted = '#98a2b3';

export interface CurveLabels {
  s: string;
  t: string;
  sample: (i: number) => string;
}

/** curveChart draws the S-T curve: cumulative S on x, cumulative T on y; onPick gets the sample index clicked. */
export function curveChart(el: HTMLElement, points: { s: number; t: number }[], labels: CurveLabels, onPick: (index: number) => void): ECharts {
  const chart = init(el, undefined, { renderer: 'svg' });
  const n = Math.max(1, points.length - 1);
  const option: Option = {
    animation: false,
    grid: { left: 40, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'item', formatter: (p: unknown) => labels.sample(((p as { dataIndex: number }).dataIndex ?? 1) - 1) },
    xAxis: { type: 'value', min: 0, max: n, name: labels.s, nameLocation: 'middle', nameGap: 26, minInterval: 1 },
    yAxis: { type: 'value', min: 0, max: n, name: labels.t, nameLocation: 'middle', nameGap: 28, minInterval: 1 },
    series: [
      {
        type: 'line',
        data: [
          [0, 0],
          [n, n],
        ],
        symbol: 'none',
        silent: true,
        lineStyle: { color: muted, type: 'dashed', width: 1 },
      },
      {
        type: 'line',
        data: points.map((p) => [p.s, p.t]),
        symbol: 'circle',
        symbolSize: 5,
        lineStyle: { color: teacher, width: 2 },
        itemStyle: { color: teacher },
      },
    ],
  };
  chart.setOption(option);
  chart.on('click', (p) => {
    if (p.seriesIndex === 1 && typeof p.dataIndex === 'number' && p.dataIndex > 0) onPick(p.dataIndex - 1);
  });
  return chart;
}

export interface RtChLabels {
  rt: string;
  ch: string;
  modes: { practice: string; lecture: string; dialogue: string; mixed: string };
  auto: string;
  coded: string;
}

/** rtChChart places the lesson on the Rt–Ch plane with the mode regions (docs/st-analysis.md). */
export function rtChChart(el: HTMLElement, coded: { rt: number; ch: number }, auto: { rt: number; ch: number } | null, labels: RtChLabels): ECharts {
  const chart = init(el, undefined, { renderer: 'svg' });
  const area = (name: string, x0: number, x1: number, y0: number, y1: number, color: string) => [
    { name, xAxis: x0, yAxis: y0, itemStyle: { color }, label: { color: '#475467', fontSize: 11 } },
    { xAxis: x1, yAxis: y1 },
  ];
  const option: Option = {
    animation: false,
    grid: { left: 40, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'item', formatter: (p: unknown) => {
      const v = (p as { value: number[]; seriesName: string });
      return `${v.seriesName}: Rt ${v.value[0].toFixed(2)}, Ch ${v.value[1].toFixed(2)}`;
    } },
    xAxis: { type: 'value', min: 0, max: 1, name: labels.rt, nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'value', min: 0, max: 1, name: labels.ch, nameLocation: 'middle', nameGap: 28 },
    series: [
      {
        type: 'scatter',
        name: labels.coded,
        data: [[coded.rt, coded.ch]],
        symbolSize: 14,
        itemStyle: { color: teacher },
        markArea: {
          silent: true,
          data: [
            area(labels.modes.practice, 0, 0.3, 0, 1, 'rgba(8,145,178,0.10)'),
            area(labels.modes.lecture, 0.7, 1, 0, 1, 'rgba(124,58,237,0.10)'),
            area(labels.modes.dialogue, 0.3, 0.7, 0.4, 1, 'rgba(22,163,74,0.10)'),
            area(labels.modes.mixed, 0.3, 0.7, 0, 0.4, 'rgba(180,83,9,0.08)'),
          ] as never,
        },
      },
      ...(auto
        ? [
            {
              type: 'scatter' as const,
              name: labels.auto,
              data: [[auto.rt, auto.ch]],
              symbolSize: 10,
              itemStyle: { color: 'transparent', borderColor: student, borderWidth: 2 },
            },
          ]
        : []),
    ],
  };
  chart.setOption(option);
  return chart;
}
