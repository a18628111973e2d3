import type { App } from '@slack/bolt';
import type { Intake, IntakeWriter } from '../../../queue/intake.js';
import type { Replies, SlackServices } from '../../services.js';
import { processCommand, readinessCommand } from './readiness.js';

export function register(app: App, services: SlackServices, intake: IntakeWriter): void {
  app.command('/readiness', readinessCommand(services, intake));
}

export function registerProcessors(intake: Intake, services: SlackServices, replies: Replies): void {
  intake.on('command', processCommand(services, replies));
}
