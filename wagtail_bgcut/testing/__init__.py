"""A faithful local emulator of the BackgroundCut API, for users' tests and ours."""
