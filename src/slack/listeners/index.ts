import type { App } from '@slack/bolt';
import type { Intake } from '../../queue/intake.js';
import type { Replies, SlackServices } from '../services.js';
import * as actions from './actions/index.js';
import * as commands from './commands/index.js';
import * as events from './events/index.js';
import * as views from './views/index.js';

/** Request handlers (take in, ack) and the processors of what they take in. */
export function registerListeners(app: App, services: SlackServices, intake: Intake, replies: Replies): void {
  commands.register(app, services, intake);
  actions.register(app, services, intake);
  views.register(app, services, intake);
  events.register(app, services);
  commands.registerProcessors(intake, services, replies);
  actions.registerProcessors(intake, services, replies);
  views.registerProcessors(intake, services, replies);
}
