package org.relaymta.server.cli;

import picocli.CommandLine;

/** A command that only groups subcommands ({@code mta shaping}, {@code mta cluster}): alone, it prints its usage. */
abstract class CommandGroup implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
