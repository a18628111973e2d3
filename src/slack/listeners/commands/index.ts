import type { App } from '@slack/bolt';
import type { BackgroundWork } from '../../background.js';
import type { SlackServices } from '../../services.js';
import { readinessCommand } from './readiness.js';

export function register(app: App, services: SlackServices, background: BackgroundWork): void {
  app.command('/readiness', readinessCommand(services, background));
}
