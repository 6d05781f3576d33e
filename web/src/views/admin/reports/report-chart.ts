// The reports page's bar chart: one indicator per school or per teacher,
// this period against the one before. Loaded with a dynamic import by the
// reports page only, so no other page carries ECharts.

import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { init, use, type ComposeOption, type ECharts } from 'echarts/core';
import type { BarSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

use([BarChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

type Option = ComposeOption<BarSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption>;

export interface Bar {
  name: string;
  current: number | null;
  previous: number | null;
}

/**
 * barChart draws horizontal bars, the first bar on top, so that long
 * school names stay readable on a phone.
 */
export function barChart(el: HTMLElement, bars: Bar[], names: { current: string; previous: string; integer: boolean }): ECharts {
  const chart = init(el, undefined, { renderer: 'svg' });
  const rev = [...bars].reverse();
  const short = (s: string) => (s.length > 10 ? `${s.slice(0, 9)}…` : s);
  const option: Option = {
    animation: false,
    grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
    legend: { top: 0, data: [names.current, names.previous] },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'value', minInterval: names.integer ? 1 : 0 },
    yAxis: { type: 'category', data: rev.map((b) => b.name), axisLabel: { formatter: short } },
    series: [
      { type: 'bar', name: names.previous, data: rev.map((b) => b.previous), itemStyle: { color: '#cbd5e1' }, barMaxWidth: 14 },
      { type: 'bar', name: names.current, data: rev.map((b) => b.current), itemStyle: { color: '#2563eb' }, barMaxWidth: 14 },
    ],
  };
  chart.setOption(option);
  return chart;
}
