/** What the steps of one frontend deploy share (see `deploy.ts`). */
import { type Log } from '../log'

import {
  type DeployFrontendOptions,
  type FrontendClients,
  type FrontendConfig,
  type FrontendResult
} from './result'
import { type OpenManifest } from './site-record'
import { type SyncPlan } from './sync-plan'

/** One run of the frontend phase: its inputs, where it syncs to, and the result it fills in. */
export interface DeployRun {
  config: FrontendConfig
  clients: FrontendClients
  opts: DeployFrontendOptions
  log: Log
  result: FrontendResult
  /** Logs a warning and keeps it in the result. */
  warn(message: string): void
  bucket: string
  distributionId: string | undefined
  /** `s3://bucket/prefix`, for the log. */
  target: string
  /** When the sync started (performance.now()). */
  syncStart: number
}

/** The sync as planned, with the site manifest it was planned against. */
export interface PlannedSync {
  plan: SyncPlan
  manifest: OpenManifest
  /** When the plan was made (Date.now()): the age of kept removed assets and pending paths. */
  now: number
  /** Paths an earlier deploy could not invalidate, to invalidate with this one's. */
  carried: string[]
}
