import type { ActivityBucket } from '../bank-api.js';
import { svg } from '../dom.js';

const WIDTH = 640;
const HEIGHT = 180;
const MARGIN = { top: 12, right: 12, bottom: 28, left: 36 };

/**
 * Draws allowed and rejected calls per minute as stacked bars in an inline SVG, with the
 * largest count on the vertical axis and the first and last minute on the horizontal one.
 * Colours come from CSS classes, because the CSP allows no inline style.
 */
export function activityChart(buckets: readonly ActivityBucket[]): SVGSVGElement {
  const allowed = buckets.reduce((sum, bucket) => sum + bucket.allowed, 0);
  const rejected = buckets.reduce((sum, bucket) => sum + bucket.rejected, 0);
  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: 'chart',
    role: 'img',
    'aria-labelledby': 'chart-title',
  });
  chart.append(
    svg('title', { id: 'chart-title' }, [
      document.createTextNode(
        `${allowed} allowed and ${rejected} rejected calls over the last ${buckets.length} minutes`,
      ),
    ]),
  );

  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxCount = Math.max(1, ...buckets.map((bucket) => bucket.allowed + bucket.rejected));
  const slot = plotWidth / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot * 0.8);
  const scale = (count: number): number => (count / maxCount) * plotHeight;
  const baseline = MARGIN.top + plotHeight;

  chart.append(
    svg('line', {
      class: 'axis',
      x1: MARGIN.left,
      x2: WIDTH - MARGIN.right,
      y1: baseline,
      y2: baseline,
    }),
    label(MARGIN.left - 6, MARGIN.top + 4, String(maxCount), 'end'),
    label(MARGIN.left - 6, baseline, '0', 'end'),
  );

  buckets.forEach((bucket, index) => {
    const x = MARGIN.left + index * slot + (slot - barWidth) / 2;
    const allowedHeight = scale(bucket.allowed);
    const rejectedHeight = scale(bucket.rejected);
    if (bucket.allowed > 0) {
      chart.append(
        svg('rect', {
          class: 'bar allowed',
          x,
          y: baseline - allowedHeight,
          width: barWidth,
          height: allowedHeight,
        }),
      );
    }
    if (bucket.rejected > 0) {
      chart.append(
        svg('rect', {
          class: 'bar rejected',
          x,
          y: baseline - allowedHeight - rejectedHeight,
          width: barWidth,
          height: rejectedHeight,
        }),
      );
    }
  });

  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  if (first !== undefined && last !== undefined) {
    chart.append(
      label(MARGIN.left, HEIGHT - 8, clock(first.start), 'start'),
      label(WIDTH - MARGIN.right, HEIGHT - 8, clock(last.start), 'end'),
    );
  }
  return chart;
}

function label(x: number, y: number, text: string, anchor: 'start' | 'end'): SVGTextElement {
  return svg('text', { class: 'chart-label', x, y, 'text-anchor': anchor }, [
    document.createTextNode(text),
  ]);
}

function clock(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeStyle: 'short' }).format(new Date(iso));
}
