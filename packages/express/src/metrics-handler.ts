/** The Prometheus `/metrics` endpoint on Express: `app.get('/metrics', metricsHandler({ metrics }))`. */
import { createMetricsEndpoint, type MetricsEndpointOptions } from '@gatecache/core/metrics';
import type { NextFunction, Request, Response } from 'express';

export function metricsHandler(
  options: MetricsEndpointOptions,
): (req: Request, res: Response, next: NextFunction) => void {
  const endpoint = createMetricsEndpoint(options);
  return function gatecacheMetrics(req: Request, res: Response, next: NextFunction): void {
    endpoint({ method: req.method, headers: req.headers }).then((response) => {
      res.status(response.status);
      for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
      res.end(response.body);
    }, next);
  };
}
