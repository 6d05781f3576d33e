// The S-T trend chart: each lesson's Rt and Ch over a term, with the lines
// where the modes change (Rt 0.3 and 0.7, Ch 0.4; docs/st-analysis.md).
// Loaded with a dynamic import by the pages that chart, so no other page
// carries ECharts.

import { LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import { init, use, type ComposeOption, type ECharts } from 'echarts/core';
import type { LineSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, MarkLineComponentOption, TooltipComponentOption } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

use([LineChart, GridComponent, LegendComponent, TooltipComponent, MarkLineComponent, SVGRenderer]);

type Option = ComposeOption<LineSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption | MarkLineComponentOption>;

export interface TrendPoint {
  label: string; // the lesson's date
  title: string;
  rt: number;
  ch: number;
  mode: string; // in words
}

/** trendChart draws Rt and Ch per lesson, oldest first. */
export function trendChart(el: HTMLElement, points: TrendPoint[]): ECharts {
  const chart = init(el, undefined, { renderer: 'svg' });
  const option: Option = {
    animation: false,
    grid: { left: 36, right: 12, top: 32, bottom: 28 },
    legend: { top: 0, data: ['Rt', 'Ch'] },
    tooltip: {
      trigger: 'axis',
      formatter: (ps: unknown) => {
        const i = (ps as { dataIndex: number }[])[0]?.dataIndex ?? 0;
        const p = points[i];
        if (!p) return '';
        const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
        return `${esc(p.label)} · ${esc(p.title)}<br>Rt ${p.rt.toFixed(2)} · Ch ${p.ch.toFixed(2)} · ${esc(p.mode)}`;
      },
    },
    xAxis: { type: 'category', data: points.map((p) => p.label), axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', min: 0, max: 1 },
    series: [
      {
        type: 'line',
        name: 'Rt',
        data: points.map((p) => p.rt),
        symbolSize: 6,
        lineStyle: { color: '#7c3aed', width: 2 },
        itemStyle: { color: '#7c3aed' },
        markLine: { silent: true, symbol: 'none', lineStyle: { color: '#98a2b3', type: 'dashed' }, label: { show: false }, data: [{ yAxis: 0.3 }, { yAxis: 0.7 }] },
      },
      {
        type: 'line',
        name: 'Ch',
        data: points.map((p) => p.ch),
        symbolSize: 6,
        lineStyle: { color: '#0891b2', width: 2 },
        itemStyle: { color: '#0891b2' },
        markLine: { silent: true, symbol: 'none', lineStyle: { color: '#67e8f9', type: 'dotted' }, label: { show: false }, data: [{ yAxis: 0.4 }] },
      },
    ],
  };
  chart.setOption(option);
  return chart;
}
