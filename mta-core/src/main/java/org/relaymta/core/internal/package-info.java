/**
 * Not API. The engine's composition root ({@code Assembly}), its one way into the spool
 * ({@code Intake}, {@code IncomingMessage}) and the server's access to them ({@code EngineAccess}).
 */
package org.relaymta.core.internal;
