from labserver.cli import main

main()
