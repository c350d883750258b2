// The two latency histograms every request ends in (its time to first byte, its duration), kept here as
// plain counts and handed to OpenTelemetry's readers as a metric producer when they collect. Recorded
// through the SDK's own histograms, each request paid for a hash of its attributes twice (the SDK looks
// every series up by a JSON text of its sorted attributes); here a request finds its series in nested
// maps of the few values each attribute takes (bench/README.md, "Where the time goes", has the gain). The output is what the SDK's explicit-bucket histograms give: cumulative
// counts per bucket, sum, count, min and max per series, since the series' first measurement.

import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type CollectionResult,
  type DataPoint,
  DataPointType,
  type Histogram,
  type HistogramMetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { MetricSpec } from './catalog.js';

/** One series: the counts of its buckets (one more than the boundaries), as the SDK keeps them. */
class Series {
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  readonly counts: number[];
  sum = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(attributes: Attributes, buckets: number) {
    this.attributes = attributes;
    this.startTime = hrNow();
    this.counts = new Array<number>(buckets + 1).fill(0);
  }

  add(value: number, boundaries: readonly number[]): void {
    // Boundaries are inclusive upper bounds (the SDK's and Prometheus's `le`).
    let i = 0;
    while (i < boundaries.length && value > (boundaries[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  point(endTime: HrTime, boundaries: readonly number[]): DataPoint<Histogram> {
    return {
      startTime: this.startTime,
      endTime,
      attributes: this.attributes,
      value: {
        buckets: { boundaries: [...boundaries], counts: [...this.counts] },
        sum: this.sum,
        count: this.count,
        min: this.min,
        max: this.max,
      },
    };
  }
}

/** The request-latency histograms of one process, in seconds. */
export class RequestLatency implements MetricProducer {
  readonly #ttfbSpec: MetricSpec;
  readonly #durationSpec: MetricSpec;
  readonly #boundaries: readonly number[];
  readonly #scope: { name: string; version: string };
  /** By X-Cache result. */
  readonly #ttfb = new Map<string, Series>();
  /** By method, then status code, then X-Cache result. */
  readonly #duration = new Map<string, Map<number, Map<string, Series>>>();

  constructor(
    specs: { ttfb: MetricSpec; duration: MetricSpec },
    boundaries: readonly number[],
    scope: { name: string; version: string },
  ) {
    this.#ttfbSpec = specs.ttfb;
    this.#durationSpec = specs.duration;
    this.#boundaries = boundaries;
    this.#scope = scope;
  }

  /** A request ended: its time to first byte (null without a head) and its duration, in seconds. */
  record(method: string, status: number, result: string, ttfb: number | null, duration: number): void {
    if (ttfb !== null) {
      let series = this.#ttfb.get(result);
      if (series === undefined) {
        series = new Series({ 'kura.cache.result': result }, this.#boundaries.length);
        this.#ttfb.set(result, series);
      }
      series.add(ttfb, this.#boundaries);
    }
    let byStatus = this.#duration.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.#duration.set(method, byStatus);
    }
    let byResult = byStatus.get(status);
    if (byResult === undefined) {
      byResult = new Map();
      byStatus.set(status, byResult);
    }
    let series = byResult.get(result);
    if (series === undefined) {
      const attributes = {
        'http.request.method': method,
        'http.response.status_code': status,
        'kura.cache.result': result,
      };
      series = new Series(attributes, this.#boundaries.length);
      byResult.set(result, series);
    }
    series.add(duration, this.#boundaries);
  }

  async collect(): Promise<CollectionResult> {
    const now = hrNow();
    const durations: Series[] = [];
    for (const byStatus of this.#duration.values()) {
      for (const byResult of byStatus.values()) durations.push(...byResult.values());
    }
    return {
      // The reader keeps its meter's resource; this one is not read.
      resourceMetrics: {
        resource: EMPTY_RESOURCE,
        scopeMetrics: [
          {
            scope: this.#scope,
            // As the SDK does, a histogram with no measurement yet is left out.
            metrics: [
              this.#metric(this.#ttfbSpec, [...this.#ttfb.values()], now),
              this.#metric(this.#durationSpec, durations, now),
            ].filter((m) => m.dataPoints.length > 0),
          },
        ],
      },
      errors: [],
    };
  }

  #metric(spec: MetricSpec, series: readonly Series[], now: HrTime): HistogramMetricData {
    return {
      descriptor: {
        name: spec.name,
        description: spec.description,
        unit: spec.unit,
        valueType: ValueType.DOUBLE,
      },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: series.map((s) => s.point(now, this.#boundaries)),
    };
  }
}

const EMPTY_RESOURCE = resourceFromAttributes({});

function hrNow(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.floor((ms - seconds * 1000) * 1e6)];
}
