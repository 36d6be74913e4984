"""The playground: a local web page that stands in for a team channel.

It goes through the same engine, storage and commands as Slack and Teams: it is one more
platform adapter, whose "channel" is a list of messages kept by a ``Feed``.
"""
