from volsync_kit.cli import main

main()
